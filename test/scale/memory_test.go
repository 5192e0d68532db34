package scale

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

// BenchmarkControllerMemory runs kubia-controller-manager as its own process (built from
// this tree, with the Helm chart's GOMEMLIMIT) while N (KUBIA_BENCH_MEMORY_WEBSITES,
// default 10000) Websites exist and reports its resident memory once all have converged. The Websites have 0 replicas and
// ClusterIP Services (a cluster has too few node ports for ten thousand), which leaves the
// controller's cache and work per Website unchanged.
func BenchmarkControllerMemory(b *testing.B) {
	n := envInt("KUBIA_BENCH_MEMORY_WEBSITES", 10000)
	binary := filepath.Join(b.TempDir(), "kubia-controller-manager")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/kubia-dev/kubia/cmd/kubia-controller-manager").CombinedOutput(); err != nil {
		b.Fatalf("building kubia-controller-manager: %v\n%s", err, out)
	}
	for b.Loop() {
		ns := harness.Namespace(b)
		pprofAddr := freeLocalAddr(b)
		cmd := exec.Command(binary, "--kubeconfig", harness.Get(b).Cluster.KubeconfigPath(), "--leader-elect=false",
			"--metrics-bind-address=0", "--health-probe-bind-address=0", "--pprof-bind-address="+pprofAddr,
			"--kube-api-qps=1000", "--kube-api-burst=2000")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+chartGoMemLimit(b))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		watched, _ := watchNamespace(b, ns, &extensionsv1.Website{})
		createAll(b, n, func(i int) client.Object {
			return &extensionsv1.Website{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
				Spec: extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i),
					Replicas: ptr.To[int32](0), ServiceType: string(corev1.ServiceTypeClusterIP)},
			}
		})
		harness.Eventually(b, 30*time.Minute, "every Website has converged", func(ctx context.Context) error {
			var sites extensionsv1.WebsiteList
			if err := watched.List(ctx, &sites, client.UnsafeDisableDeepCopy); err != nil {
				return err
			}
			done := 0
			for _, s := range sites.Items {
				if s.Status.ObservedGeneration == s.Generation && len(s.Status.Conditions) > 0 {
					done++
				}
			}
			if done < n {
				return fmt.Errorf("%d of %d Websites converged", done, n)
			}
			return nil
		})
		time.Sleep(10 * time.Second) // let the controller settle after the burst
		mib, err := harness.RSSMiB(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		live := liveHeapMiB(b, pprofAddr)
		saveHeapProfile(b, pprofAddr)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.ReportMetric(mib, "MiB-rss-controller")
		b.ReportMetric(live, "MiB-live-heap-controller")
		b.ReportMetric(float64(n), "websites")
	}
}

// BenchmarkAPIServerMemory starts kubia-apiserver and its etcd, as aggregated mode runs
// them, stores N (KUBIA_BENCH_MEMORY_WEBSITES, default 10000) Websites through
// kube-apiserver with 16 workers and, once a watch has seen them all and the processes
// have settled, reports the resident memory of both (kubia-apiserver's watch cache holds
// every Website) and etcd's database size; also both processes' memory before the first
// Website. No Kubia controller runs: this is the cost of storing and serving Websites.
func BenchmarkAPIServerMemory(b *testing.B) {
	n := envInt("KUBIA_BENCH_MEMORY_WEBSITES", 10000)
	for b.Loop() {
		srv := harness.StartAPIServer(b)
		requireWatchCache(b, srv)
		emptyServer, emptyEtcd := rssMiB(b, srv.PID()), rssMiB(b, srv.EtcdPID())
		ns := harness.Namespace(b)
		watched, stop := watchNamespace(b, ns, &extensionsv1.Website{})
		began := time.Now()
		createAll(b, n, func(i int) client.Object {
			return &extensionsv1.Website{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
				Spec:       extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i)},
			}
		})
		b.Logf("created %d Websites in %s", n, time.Since(began))
		harness.Eventually(b, 10*time.Minute, "the benchmark's watch has seen every Website", func(ctx context.Context) error {
			var sites extensionsv1.WebsiteList
			if err := watched.List(ctx, &sites, client.UnsafeDisableDeepCopy); err != nil {
				return err
			}
			if len(sites.Items) < n {
				return fmt.Errorf("%d of %d Websites", len(sites.Items), n)
			}
			return nil
		})
		stop()
		time.Sleep(30 * time.Second) // let both settle after the burst
		b.ReportMetric(rssMiB(b, srv.PID()), "MiB-rss-apiserver")
		b.ReportMetric(rssMiB(b, srv.EtcdPID()), "MiB-rss-etcd")
		b.ReportMetric(emptyServer, "MiB-rss-apiserver-empty")
		b.ReportMetric(emptyEtcd, "MiB-rss-etcd-empty")
		b.ReportMetric(metricSum(b, srv.DirectConfig(), "go_memstats_heap_inuse_bytes", nil)/(1<<20), "MiB-heap-inuse-apiserver")
		b.ReportMetric(metricSum(b, etcdServer(srv), "etcd_mvcc_db_total_size_in_bytes", nil)/(1<<20), "MiB-etcd-db")
		b.ReportMetric(float64(n), "websites")
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}

func rssMiB(b *testing.B, pid int) float64 {
	mib, err := harness.RSSMiB(pid)
	if err != nil {
		b.Fatal(err)
	}
	return mib
}

// requireWatchCache fails unless kubia-apiserver keeps a watch cache of Websites (on by
// default in genericapiserver, --watch-cache), which is what holds them in its memory.
func requireWatchCache(b *testing.B, srv *harness.APIServer) {
	websites := map[string]string{"group": "extensions.example.com", "resource": "websites"}
	if metricSum(b, srv.DirectConfig(), "apiserver_watch_cache_initializations_total", websites) == 0 {
		b.Fatal("kubia-apiserver has no watch cache of Websites")
	}
}

// etcdServer is a client configuration for kubia-apiserver's etcd, whose /metrics
// needs no credentials.
func etcdServer(srv *harness.APIServer) *rest.Config {
	return &rest.Config{Host: srv.EtcdURL()}
}

func freeLocalAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// liveHeapMiB is the controller manager's heap after a garbage collection: what its
// cache and queues hold, without the garbage its resident memory also counts.
func liveHeapMiB(b *testing.B, pprofAddr string) float64 {
	body := httpGet(b, "http://"+pprofAddr+"/debug/pprof/heap?gc=1&debug=1")
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# HeapAlloc = "); ok {
			bytes, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return bytes / (1 << 20)
		}
	}
	b.Fatal("no HeapAlloc in the heap profile")
	return 0
}

func httpGet(b *testing.B, url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return data
}

// saveHeapProfile writes the controller manager's heap profile into
// KUBIA_BENCH_PROFILE_DIR, when set, to see what its memory holds.
func saveHeapProfile(b *testing.B, pprofAddr string) {
	dir := os.Getenv("KUBIA_BENCH_PROFILE_DIR")
	if dir == "" {
		return
	}
	data := httpGet(b, "http://"+pprofAddr+"/debug/pprof/heap")
	path := filepath.Join(dir, "kubia-controller-manager.heap.pprof")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("heap profile: %s", path)
}

// chartGoMemLimit is the GOMEMLIMIT the Helm chart gives kubia-controller-manager.
func chartGoMemLimit(b *testing.B) string {
	path, err := sourcetree.Path("charts/kubia/values.yaml")
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var values struct {
		GoMemLimit string `json:"goMemLimit"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil || values.GoMemLimit == "" {
		b.Fatalf("goMemLimit in %s: %v", path, err)
	}
	return values.GoMemLimit
}
