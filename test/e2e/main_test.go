// Package e2e tests Kubia as users run it: the kubia binary, started as a process.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kubia-dev/kubia/internal/localcluster"
)

// kubiaBin and kubectlBin are the binaries under test, set up by TestMain.
var kubiaBin, kubectlBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubia-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubiaBin = filepath.Join(dir, "kubia")
	if out, err := exec.Command("go", "build", "-o", kubiaBin, "github.com/kubia-dev/kubia/cmd/kubia").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building kubia: %v\n%s", err, out)
		return 1
	}
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kubectlBin = filepath.Join(binDir, localcluster.Kubectl)
	if _, err := os.Stat(kubectlBin); err != nil {
		fmt.Fprintf(os.Stderr, "kubectl %s is missing (run `make kube-binaries`): %v\n", localcluster.KubeVersion, err)
		return 1
	}
	return m.Run()
}
