// kubia-apiserver serves Kubia's API groups (extensions.example.com Websites, …) from its
// own etcd, joined to kube-apiserver through API aggregation.
package main

import (
	"os"

	"github.com/spf13/cobra"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	genericapiserver "k8s.io/apiserver/pkg/server"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json

	"github.com/kubia-dev/kubia/internal/apiserver/server"
)

func init() {
	// The logging flags' features (contextual logging, …) live in the API server's gate.
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

func main() {
	opts := server.NewOptions()
	logOpts := logs.NewOptions()
	cmd := &cobra.Command{
		Use:          server.Name,
		Short:        "Serve Kubia's API groups behind kube-apiserver's aggregator",
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := logsapi.ValidateAndApply(logOpts, utilfeature.DefaultFeatureGate); err != nil {
				return err
			}
			return server.Run(cmd.Context(), opts)
		},
	}
	cmd.SetContext(genericapiserver.SetupSignalContext())
	opts.AddFlags(cmd.Flags())
	logsapi.AddFlags(logOpts, cmd.Flags())
	os.Exit(cli.Run(cmd))
}
