package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/test/harness"
)

// settle is how long the benchmark lets the platform idle before reading memory, so the
// figures are those of a running platform rather than of its start-up burst.
const settle = 5 * time.Second

// BenchmarkUp measures `kubia up` from process start to the ready line, with the upstream
// binaries cached: "new-data-dir" is a first start (PKI and etcd created), "restart" resumes
// an existing data dir. It also reports the resident memory of kubia and of each component
// once settled.
// ns/op is the time to ready. Run with `make bench`.
func BenchmarkUp(b *testing.B) {
	b.Run("new-data-dir", func(b *testing.B) {
		benchmarkUp(b, func(b *testing.B) string { return b.TempDir() })
	})
	b.Run("restart", func(b *testing.B) {
		dataDir := b.TempDir()
		up := startUp(b, "--data-dir", dataDir, "--apiserver-port", "0")
		up.waitReady(b, readyTimeout)
		up.stop(b, syscall.SIGTERM, stopLimit)
		benchmarkUp(b, func(*testing.B) string { return dataDir })
	})
}

func benchmarkUp(b *testing.B, dataDir func(*testing.B) string) {
	var toReady time.Duration
	rss := map[string]float64{}
	for b.Loop() {
		dir := dataDir(b)
		up := startUp(b, "--data-dir", dir, "--apiserver-port", "0")
		up.waitReady(b, readyTimeout)
		toReady += time.Since(up.started)

		b.StopTimer()
		time.Sleep(settle)
		for _, pid := range append(childPIDs(b, up.cmd.Process.Pid), up.cmd.Process.Pid) {
			mib, err := harness.RSSMiB(pid)
			if err != nil {
				b.Fatal(err)
			}
			rss[processName(pid)] += mib
		}
		up.stop(b, syscall.SIGTERM, stopLimit)
		b.StartTimer()
	}
	b.ReportMetric(float64(toReady.Nanoseconds())/float64(b.N), "ns/op")
	for name, total := range rss {
		b.ReportMetric(total/float64(b.N), "MiB-rss-"+strings.ReplaceAll(name, " ", "_"))
	}
}

// BenchmarkUpWithNode measures `kubia up --node=on` from process start to the ready line
// (node Ready and cluster DNS serving; binaries and images cached), then runs one nginx
// pod and reports the resident memory of the whole cluster: kubia, its components,
// containerd shims and the processes of every pod (CoreDNS and nginx).
func BenchmarkUpWithNode(b *testing.B) {
	binDir := requireNodeHost(b)
	var toReady time.Duration
	var totalMiB float64
	for b.Loop() {
		dataDir := b.TempDir()
		up := startUp(b, "--data-dir", dataDir, "--apiserver-port", "0", "--node=on", "--node-lock-wait", nodeLockWait.String())
		up.waitReady(b, readyTimeout+nodeLockWait)
		toReady += time.Since(up.started)

		b.StopTimer()
		kubeconfig := dataDir + "/kubeconfig"
		kubectl(b, kubeconfig, "run", "web", "--image=localhost/kubia/nginx:local", "--image-pull-policy=Never")
		kubectl(b, kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=2m")
		time.Sleep(settle)
		totalMiB += clusterRSS(b, up.cmd.Process.Pid, binDir)
		up.stop(b, syscall.SIGTERM, stopLimit)
		b.StartTimer()
	}
	b.ReportMetric(float64(toReady.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(totalMiB/float64(b.N), "MiB-rss-cluster-with-1-pod")
}

// clusterRSS adds up the resident memory of kubia (pid), its children, the containerd
// shims and every process in the pods' cgroups.
func clusterRSS(b *testing.B, pid int, binDir string) float64 {
	pids := append(childPIDs(b, pid), pid)
	for _, p := range allPIDs(b) {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
		if exe == filepath.Join(binDir, localcluster.ContainerdShimRuncV2) {
			pids = append(pids, p)
		}
	}
	pids = append(pids, podPIDs(b)...)
	var total float64
	for _, p := range pids {
		mib, err := harness.RSSMiB(p)
		if err != nil {
			continue // exited meanwhile
		}
		total += mib
	}
	return total
}

// podPIDs lists the processes in the kubelet's pod cgroups (cgroupfs driver).
func podPIDs(b *testing.B) []int {
	var pids []int
	err := filepath.WalkDir("/sys/fs/cgroup/pids/kubepods", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "cgroup.procs" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return pids
}
