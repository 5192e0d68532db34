// Package cli holds the commands of the kubia command-line tool.
package cli

import (
	"github.com/spf13/cobra"
)

// NewRootCommand returns the `kubia` command with all its subcommands.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kubia",
		Short:         "Kubia: the best way to extend Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(newUpCommand(), newImagesCommand())
	return root
}
