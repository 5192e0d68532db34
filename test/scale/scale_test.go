// Package scale benchmarks the Website controller against the real control plane: how
// fast a thousand Websites converge compared with the upstream controller manager turning
// a thousand Deployments into ReplicaSets and Pods, how many API writes each Website costs,
// and how much memory the controller manager needs for ten thousand Websites. Run with
// `make bench`; the figures go to docs/benchmarks.md.
package scale

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) {
	// This package holds benchmarks only: without -test.bench there is nothing to start a
	// cluster for.
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run())
	}
	harness.Main(m, harness.WithCRDs())
}

// envInt reads a size from the environment, so a quick run can use smaller numbers.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// A Node object (no kubelet behind it), as every cluster has, with an address. It is
// unschedulable, so the pods of both phases stay Pending alike: bound to a node without a
// kubelet, they would be marked not ready by the node lifecycle controller, a thousand
// pod updates that land in whichever phase runs at the time.
func ensureNode(b *testing.B) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "scale-node"}, Spec: corev1.NodeSpec{Unschedulable: true}}
	err := harness.Get(b).Client.Create(b.Context(), node)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: localcluster.DefaultNodeIP}}
	if err := harness.Get(b).Client.Status().Update(b.Context(), node); err != nil {
		b.Fatal(err)
	}
}

// createAll creates n objects made by newObj with 16 workers, like a busy user or CI.
func createAll(b *testing.B, n int, newObj func(i int) client.Object) {
	c := harness.Get(b).Client
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := c.Create(context.Background(), newObj(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// watchNamespace returns a started cache of kinds in ns. Benchmarks wait on it rather
// than on LISTs from the API server: polling a thousand objects every 100 ms took a fifth
// of the API server's CPU, slowing down what is being measured.
func watchNamespace(b *testing.B, ns string, kinds ...client.Object) cache.Cache {
	scheme, err := manager.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	c, err := cache.New(harness.Get(b).Config, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Start(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
	for _, kind := range kinds {
		if _, err := c.GetInformer(ctx, kind); err != nil {
			b.Fatal(err)
		}
	}
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the benchmark's cache did not sync")
	}
	return c
}

// writeCounter counts the controller's API writes, events apart.
type writeCounter struct{ writes, events atomic.Int64 }

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			if strings.Contains(req.URL.Path, "/events") {
				w.events.Add(1)
			} else {
				w.writes.Add(1)
			}
		}
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkWebsiteConvergence creates N (KUBIA_BENCH_WEBSITES, default 1000) Websites
// and measures the time until each has its Deployment, Services and a status with its
// node port (status.url waits for a web server, which no pod here becomes), against
// the time kube-controller-manager (QPS 1000) takes to turn N Deployments into
// ReplicaSets and Pods; and the controller's writes per Website on creation and during
// KUBIA_BENCH_STEADY (default 5m) of steady state.
func BenchmarkWebsiteConvergence(b *testing.B) {
	n := envInt("KUBIA_BENCH_WEBSITES", 1000)
	steady, err := time.ParseDuration(os.Getenv("KUBIA_BENCH_STEADY"))
	if err != nil {
		steady = 5 * time.Minute
	}
	ensureNode(b)
	for b.Loop() {
		beforeUpstream := apiWrites(b)
		upstream := upstreamDeployments(b, n)
		beforeWebsites := apiWrites(b)
		kubia, creation, steadyWrites := websites(b, n, steady)
		// Written at the end of the steady period: by then the controller manager has
		// also finished with the Websites' Deployments.
		logWritesBetween(b, "kube-controller-manager's phase", beforeUpstream, beforeWebsites)
		logWritesBetween(b, "the Website phase (and its steady state)", beforeWebsites, apiWrites(b))
		b.ReportMetric(upstream.Seconds(), "s-upstream-1000-deployments")
		b.ReportMetric(kubia.Seconds(), "s-websites-converged")
		b.ReportMetric(kubia.Seconds()/upstream.Seconds(), "x-of-upstream")
		b.ReportMetric(float64(creation.writes.Load())/float64(n), "writes/website-creation")
		b.ReportMetric(float64(creation.events.Load())/float64(n), "events/website-creation")
		b.ReportMetric(float64(steadyWrites.writes.Load()+steadyWrites.events.Load())/float64(n), "writes/website-steady")
	}
}

func upstreamDeployments(b *testing.B, n int) time.Duration {
	ns := harness.Namespace(b)
	began := time.Now()
	createAll(b, n, func(i int) client.Object {
		labels := map[string]string{"app": fmt.Sprintf("d%d", i)}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("d%d", i), Namespace: ns},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "localhost/kubia/pause:local"}}},
				},
			},
		}
	})
	watched := watchNamespace(b, ns, &corev1.Pod{}, &appsv1.ReplicaSet{})
	harness.Eventually(b, 10*time.Minute, "every Deployment has its ReplicaSet and Pod", func(ctx context.Context) error {
		var pods corev1.PodList
		if err := watched.List(ctx, &pods); err != nil {
			return err
		}
		var sets appsv1.ReplicaSetList
		if err := watched.List(ctx, &sets); err != nil {
			return err
		}
		if len(pods.Items) < n || len(sets.Items) < n {
			return fmt.Errorf("%d ReplicaSets, %d Pods of %d", len(sets.Items), len(pods.Items), n)
		}
		return nil
	})
	return time.Since(began)
}

func websites(b *testing.B, n int, steady time.Duration) (time.Duration, *writeCounter, *writeCounter) {
	ns := harness.Namespace(b)
	counter := &writeCounter{}
	cfg := rest.CopyConfig(harness.Get(b).Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return counter.wrap(rt) })
	mgr, err := manager.New(cfg, manager.Options{
		Images:      website.Images{WebServer: "localhost/kubia/nginx:local", Sync: "localhost/kubia/kubia-sync:local"},
		MetricsAddr: "0", ProbeAddr: "0", Namespaces: []string{ns}, SeveralPerProcess: true,
		QPS: 1000, Burst: 2000, Workers: envInt("KUBIA_BENCH_WORKERS", 8),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = mgr.Start(ctx) })
	defer func() { cancel(); wg.Wait() }()
	mgr.GetCache().WaitForCacheSync(ctx)
	counter.writes.Store(0)
	counter.events.Store(0)

	watched := watchNamespace(b, ns, &extensionsv1.Website{})
	began := time.Now()
	createAll(b, n, func(i int) client.Object {
		return &extensionsv1.Website{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
			Spec:       extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i)},
		}
	})
	b.Logf("created %d Websites in %s", n, time.Since(began))
	harness.Eventually(b, 10*time.Minute, "every Website has its children and its node port in the status", func(ctx context.Context) error {
		var sites extensionsv1.WebsiteList
		if err := watched.List(ctx, &sites); err != nil {
			return err
		}
		done := 0
		for _, s := range sites.Items {
			if s.Status.NodePort != 0 && s.Status.ObservedGeneration == s.Generation {
				done++
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d Websites converged", done, n)
		}
		return nil
	})
	took := time.Since(began)
	creation := &writeCounter{}
	creation.writes.Store(counter.writes.Load())
	creation.events.Store(counter.events.Load())

	counter.writes.Store(0)
	counter.events.Store(0)
	time.Sleep(steady)
	return took, creation, counter
}

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
		watched := watchNamespace(b, ns, &extensionsv1.Website{})
		createAll(b, n, func(i int) client.Object {
			return &extensionsv1.Website{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
				Spec: extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i),
					Replicas: ptr.To[int32](0), ServiceType: string(corev1.ServiceTypeClusterIP)},
			}
		})
		harness.Eventually(b, 30*time.Minute, "every Website has converged", func(ctx context.Context) error {
			var sites extensionsv1.WebsiteList
			if err := watched.List(ctx, &sites); err != nil {
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

// apiWrites reads the API server's count of writes so far by resource, subresource and
// verb (apiserver_request_total), to show what each phase made the cluster do.
func apiWrites(b *testing.B) map[string]float64 {
	data, err := kubernetes.NewForConfigOrDie(harness.Get(b).Config).RESTClient().Get().AbsPath("/metrics").DoRaw(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	writes := map[string]float64{}
	family := families["apiserver_request_total"]
	if family == nil {
		b.Fatal("the API server reports no apiserver_request_total")
	}
	for _, m := range family.GetMetric() {
		l := map[string]string{}
		for _, pair := range m.GetLabel() {
			l[pair.GetName()] = pair.GetValue()
		}
		switch l["verb"] {
		case "POST", "PUT", "PATCH", "DELETE":
			writes[strings.TrimSuffix(l["resource"]+"/"+l["subresource"], "/")+" "+l["verb"]] += m.GetCounter().GetValue()
		}
	}
	return writes
}

// logWritesBetween logs the writes of each kind made between two apiWrites readings.
func logWritesBetween(b *testing.B, phase string, before, after map[string]float64) {
	var lines []string
	total := 0.0
	for key, count := range after {
		if d := count - before[key]; d >= 10 {
			lines = append(lines, fmt.Sprintf("%6.0f %s", d, key))
			total += d
		}
	}
	slices.Sort(lines)
	b.Logf("API writes during %s: %.0f\n%s", phase, total, strings.Join(lines, "\n"))
}
