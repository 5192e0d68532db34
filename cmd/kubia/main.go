// Command kubia is Kubia's command-line tool; `kubia up` runs the whole local platform.
package main

import (
	"os"

	"github.com/kubia-dev/kubia/internal/cli"
	"github.com/kubia-dev/kubia/internal/cli/website"
)

func main() {
	// Exit codes: 0, 1 for a failure, and what `kubia website` documents besides.
	os.Exit(website.ExitCode(cli.NewRootCommand().Execute()))
}
