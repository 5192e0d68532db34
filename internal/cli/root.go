// Package cli holds the commands of the kubia command-line tool.
package cli

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubia-dev/kubia/internal/cli/catalog"
	"github.com/kubia-dev/kubia/internal/cli/project"
	"github.com/kubia-dev/kubia/internal/cli/route"
	"github.com/kubia-dev/kubia/internal/cli/template"
	"github.com/kubia-dev/kubia/internal/cli/website"
)

// NewRootCommand returns the `kubia` command with all its subcommands.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kubia",
		Short:         "Kubia: the best way to extend Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root.AddCommand(newUpCommand(), newImagesCommand(), catalog.NewCommand(streams), website.NewCommand(streams))
	root.AddCommand(template.NewCommands(streams)...)
	root.AddCommand(route.NewCommands(streams)...)
	root.AddCommand(project.NewCommands(streams)...)
	return root
}
