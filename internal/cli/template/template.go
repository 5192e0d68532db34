// Package template holds Kubia's commands for OpenShift Templates (template.openshift.io/v1,
// served by kubia-apiserver): `kubia process`, which is `oc process`, and `kubia new-app
// --template`, which instantiates one through a TemplateInstance. The pieces both need
// (connecting, processing on the server, the parameter flags) are in client.go and params.go.
package template

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCommands returns the template commands, for the root command.
func NewCommands(streams genericiooptions.IOStreams) []*cobra.Command {
	return []*cobra.Command{NewProcessCommand(streams), NewNewAppCommand(streams)}
}

// options are what every template command shares: kubectl's connection flags and the
// streams.
type options struct {
	config *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
}

func newOptions(streams genericiooptions.IOStreams) *options {
	return &options{config: genericclioptions.NewConfigFlags(true), IOStreams: streams}
}

// usageErrorf is kubectl's UsageErrorf, which oc uses: the message, then where to find
// help.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s\nSee '%s -h' for help and examples", fmt.Sprintf(format, args...), cmd.CommandPath())
}
