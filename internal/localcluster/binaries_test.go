package localcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The binaries are built by hack/kube at the versions its go.mod pins; the cluster looks
// them up by KubeVersion, so the two must agree.
func TestKubeVersionMatchesToolsModule(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join("..", "..", "hack", "kube", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(gomod)) {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "k8s.io/kubernetes" {
			if fields[1] != KubeVersion {
				t.Fatalf("hack/kube pins k8s.io/kubernetes %s, localcluster.KubeVersion is %s", fields[1], KubeVersion)
			}
			return
		}
	}
	t.Fatal("hack/kube/go.mod does not require k8s.io/kubernetes")
}

func TestBinaryPathsNamesTheFixWhenMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := binaryPaths(dir, []string{Etcd})
	if err == nil || !strings.Contains(err.Error(), "make kube-binaries") {
		t.Fatalf("error %v does not tell how to build the missing binary", err)
	}
}

// The cached binaries must report the real upstream version, not v0.0.0-master.
func TestCachedBinariesReportTheirVersion(t *testing.T) {
	dir, err := DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := binaryPaths(dir, []string{KubeAPIServer, KubeControllerManager, KubeScheduler})
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range paths {
		out, err := exec.Command(path, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", name, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "Kubernetes "+KubeVersion {
			t.Errorf("%s --version = %q, want %q", name, got, "Kubernetes "+KubeVersion)
		}
	}
}
