// Package catalog holds `kubia catalog`, a svcat-like command line for the Service
// Catalog: it lists what brokers offer and provisions, binds, unbinds and deprovisions
// through the ServiceInstance and ServiceBinding resources, which the controllers act on.
package catalog

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

// options are what every catalog command shares: kubectl's connection flags and the
// streams it writes to.
type options struct {
	config *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// pollInterval is how often --wait reads the object.
	pollInterval time.Duration
}

// NewCommand returns `kubia catalog` with its subcommands.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{config: genericclioptions.NewConfigFlags(true), IOStreams: streams, pollInterval: time.Second}
	cmd := &cobra.Command{
		Use:          "catalog",
		SilenceUsage: true,
		Short:        "Provision and bind services from the Service Catalog's brokers",
		Long: `Works with the Service Catalog (servicecatalog.k8s.io): list the classes and plans the
registered brokers offer, provision an instance of one, bind it (its credentials land in a
Secret pods can mount), unbind and deprovision. The commands create and delete
ServiceInstance and ServiceBinding objects; kubia-controller-manager talks to the brokers.`,
	}
	o.config.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newMarketplaceCommand(o), newProvisionCommand(o), newDeprovisionCommand(o),
		newBindCommand(o), newUnbindCommand(o), newDescribeCommand(o), newSyncCommand(o))
	return cmd
}

// scheme knows the catalog's kinds and the core ones the commands read.
func scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := sc.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// client connects as kubectl would with the same flags, and returns the namespace the
// flags or the kubeconfig's context select.
func (o *options) client() (client.Client, string, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("finding the namespace: %w", err)
	}
	s, err := scheme()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the API server: %w", err)
	}
	return c, ns, nil
}
