// Command kubectl-create-website is the kubectl plugin behind `kubectl create website`:
// kubectl runs it for a `create` subcommand it does not have itself, when it is on the
// PATH. It is `kubia website create`. krew (deploy/krew) links it as kubectl-create_website,
// which kubectl runs for `kubectl create-website`.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubia-dev/kubia/internal/cli/website"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	cmd := website.NewCreatePluginCommand(streams)
	// Errors read as kubectl's own: "error: …" on stderr.
	cmd.SilenceErrors = true
	err := cmd.Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(website.ExitCode(err))
}
