// Command kubia is Kubia's command-line tool; `kubia up` runs the whole local platform.
package main

import (
	"os"

	"github.com/kubia-dev/kubia/internal/cli"
)

func main() {
	if err := cli.NewRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
