package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// KubeVersion is the upstream Kubernetes release whose binaries the cluster runs. It must
// match k8s.io/kubernetes in hack/kube/go.mod, which builds them (a test checks this).
const KubeVersion = "v1.37.2"

// Names of the upstream binaries, as built by hack/kube.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Kubectl               = "kubectl"
)

// controlPlaneBinaries are the binaries a control plane needs.
var controlPlaneBinaries = []string{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler}

// BinDirEnv overrides where the upstream binaries are looked up.
const BinDirEnv = "KUBIA_KUBE_BIN_DIR"

// DefaultBinDir is where `make kube-binaries` puts the upstream binaries:
// $KUBIA_KUBE_BIN_DIR, else ${XDG_CACHE_HOME:-~/.cache}/kubia/kube/<KubeVersion>.
// They live outside the repository because they are large and shared by every clone.
func DefaultBinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the cache directory for Kubernetes binaries: %w", err)
	}
	return filepath.Join(cache, "kubia", "kube", KubeVersion), nil
}

// binaryPaths resolves each named binary in dir and fails with the command that builds
// them when one is missing.
func binaryPaths(dir string, names []string) (map[string]string, error) {
	paths := make(map[string]string, len(names))
	for _, name := range names {
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("upstream binary %s %s is missing from %s: run `make kube-binaries` first", name, KubeVersion, dir)
		}
		paths[name] = path
	}
	return paths, nil
}
