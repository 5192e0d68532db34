package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"
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
			mib, err := rssMiB(pid)
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
