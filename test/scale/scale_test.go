// Package scale benchmarks Kubia against the real control plane (no node):
//
//   - BenchmarkWebsiteConvergence: how fast a thousand Websites converge, served by the CRD
//     and by kubia-apiserver, against a client creating what they contain (a thousand
//     Deployments and NodePort Services) itself, and how many API writes each Website
//     costs;
//   - BenchmarkControllerMemory: kubia-controller-manager's memory for ten thousand
//     Websites;
//   - BenchmarkAPIServerMemory: kubia-apiserver's and its etcd's memory for ten thousand
//     Websites stored.
//
// Run with `go test ./test/scale -run '^$' -bench . -benchtime 1x -timeout 120m`; the
// figures go to docs/benchmarks.md.
package scale

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
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
	inParallel(b, n, func(ctx context.Context, c client.Client, i int) error {
		return c.Create(ctx, newObj(i))
	})
}

// inParallel runs do for 0 to n-1 with 16 workers; the benchmark fails on the first error.
func inParallel(b *testing.B, n int, do func(ctx context.Context, c client.Client, i int) error) {
	c := harness.Get(b).Client
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := do(context.Background(), c, i); err != nil {
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

// watchNamespace returns a started cache of kinds in ns, and the function that stops it
// (the end of the benchmark does too). Benchmarks wait on it rather than on LISTs from the
// API server: polling a thousand objects every 100 ms took a fifth of the API server's
// CPU, slowing down what is being measured. They list it without deep copies
// (client.UnsafeDisableDeepCopy, read only): copying a thousand Pods and ReplicaSets every
// 100 ms took 12 s of CPU in a Website phase of 60 s on two cores.
func watchNamespace(b *testing.B, ns string, kinds ...client.Object) (cache.Cache, func()) {
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
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	b.Cleanup(stop)
	for _, kind := range kinds {
		if _, err := c.GetInformer(ctx, kind); err != nil {
			b.Fatal(err)
		}
	}
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the benchmark's cache did not sync")
	}
	return c, stop
}

// writeCounter counts the controller's API writes, events apart.
type writeCounter struct{ writes, events atomic.Int64 }

// writeCount is what a writeCounter counted in one period.
type writeCount struct{ writes, events int64 }

// take returns the counts so far and starts counting from zero.
func (w *writeCounter) take() writeCount {
	return writeCount{writes: w.writes.Swap(0), events: w.events.Swap(0)}
}

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

// deleteNamespace deletes ns and waits until it is gone, with everything in it: the next
// phase then starts on a cluster as empty as the first did, with the node ports free.
func deleteNamespace(b *testing.B, ns string) {
	c := harness.Get(b).Client
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	began := time.Now()
	if err := c.Delete(context.Background(), obj); err != nil {
		b.Fatalf("deleting namespace %s: %v", ns, err)
	}
	harness.Eventually(b, 15*time.Minute, "namespace "+ns+" is gone", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s is %s", ns, obj.Status.Phase)
	})
	b.Logf("deleted namespace %s in %s", ns, time.Since(began).Round(time.Millisecond))
}
