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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
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

// BenchmarkWebsiteConvergence measures three phases in one cluster, one after the other,
// each in a namespace of its own that is deleted (and gone) before the next begins:
//
//   - the baseline: a client with 16 workers creates what N (KUBIA_BENCH_WEBSITES,
//     default 1000) Websites contain, a Deployment and a NodePort Service each, and waits
//     until kube-controller-manager (QPS 1000) has made every ReplicaSet and Pod and every
//     Service has its node port;
//   - N Websites served by the CRD, until every Website's status has its node port
//     (status.url waits for a web server, which no pod here becomes) and every ReplicaSet
//     and Pod exists, the baseline's wait plus the Website's own status;
//   - the same with Websites served by kubia-apiserver, started for this phase (and
//     kube-controller-manager restarted, see watchAggregatedWebsites).
//
// It reports each phase's time and their ratios, and the controller's writes per Website
// in each mode on creation and during KUBIA_BENCH_STEADY (default 5m) of steady state,
// measured in both modes: in aggregated mode the controller's watches go through the
// aggregator to kubia-apiserver's watch cache, which could make it write where the CRD
// does not.
//
// Deleting each phase's namespace keeps the phases alike (none starts among the objects of
// another) and gives their node ports back: three phases of 1000 NodePort Services
// would need 3000 of the 2768 ports in kube-apiserver's default range (30000-32767, which
// internal/localcluster does not change).
func BenchmarkWebsiteConvergence(b *testing.B) {
	n := envInt("KUBIA_BENCH_WEBSITES", 1000)
	steady, err := time.ParseDuration(os.Getenv("KUBIA_BENCH_STEADY"))
	if err != nil {
		steady = 5 * time.Minute
	}
	ensureNode(b)
	for b.Loop() {
		base := baseline(b, n, clusterServers(b))
		crd := websites(b, "CRD mode", n, steady, clusterServers(b))
		srv := harness.StartAPIServer(b)
		watchAggregatedWebsites(b)
		aggregated := websites(b, "aggregated mode", n, steady, clusterServers(b).with(srv))
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(base.Seconds(), "s-baseline")
		b.ReportMetric(crd.took.Seconds(), "s-websites-crd")
		b.ReportMetric(aggregated.took.Seconds(), "s-websites-aggregated")
		b.ReportMetric(crd.took.Seconds()/base.Seconds(), "x-crd-of-baseline")
		b.ReportMetric(aggregated.took.Seconds()/crd.took.Seconds(), "x-aggregated-of-crd")
		crd.report(b, n, "crd")
		aggregated.report(b, n, "aggregated")
	}
}

// baseline creates what n Websites contain without Kubia and returns the time until
// kube-controller-manager has made each Deployment's ReplicaSet and Pod and every Service
// has its node port. The 16 workers create Deployment i, then Service i, and so on.
func baseline(b *testing.B, n int, on servers) time.Duration {
	ns := harness.Namespace(b)
	watched, stop := watchNamespace(b, ns, &appsv1.ReplicaSet{}, &corev1.Pod{}, &corev1.Service{})
	before := on.read(b)
	began := before.at
	createAll(b, 2*n, func(i int) client.Object {
		if i%2 == 0 {
			return baselineDeployment(ns, i/2)
		}
		return baselineService(ns, i/2)
	})
	b.Logf("created %d Deployments and %d Services in %s", n, n, time.Since(began))
	took := waitConverged(b, began, watched, n, map[string]check{
		"ReplicaSets and Pods created": childrenCreated,
		"node ports assigned":          nodePortsAssigned,
	})
	logBetween(b, "the baseline until converged", before, on.read(b))
	stop()
	deleteNamespace(b, ns)
	return took
}

// The labels of baseline object i, as a Website's children have them.
func baselineLabels(i int) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": fmt.Sprintf("w%d", i)}
}

// baselineDeployment is shaped like a Website's Deployment (internal/controller/website):
// one replica of the web server and kubia-sync, the same images, ports, volumes, probes
// and resources, so kube-apiserver and kube-controller-manager handle objects of the same
// size; the API server defaults the rest alike.
func baselineDeployment(ns string, i int) *appsv1.Deployment {
	labels := baselineLabels(i)
	web := baselineContainer("web-server", siteImages.WebServer, "http", 8080, "/", "16Mi", "64Mi")
	web.VolumeMounts = append(web.VolumeMounts, corev1.VolumeMount{Name: "site", MountPath: "/usr/share/nginx", ReadOnly: true})
	syncer := baselineContainer("sync", siteImages.Sync, "sync", syncstatus.Port, syncstatus.HealthzPath, "32Mi", "256Mi")
	syncer.VolumeMounts = append(syncer.VolumeMounts, corev1.VolumeMount{Name: "site", MountPath: "/site"})
	syncer.Args = []string{fmt.Sprintf("--repo=https://%s/site-%d.git", localcluster.DefaultNodeIP, i),
		"--root=/site", "--link=html", "--interval=1m0s", fmt.Sprintf("--listen=:%d", syncstatus.Port)}
	emptyDir := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d-website", i), Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{web, syncer},
					Volumes:    []corev1.Volume{{Name: "site", VolumeSource: emptyDir}, {Name: "tmp", VolumeSource: emptyDir}},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), FSGroup: ptr.To[int64](65534),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
				},
			},
		},
	}
}

// baselineContainer is a container of a Website's pod without its own arguments and
// mounts: a named port with an HTTP readiness probe, /tmp, resources, restricted rights.
func baselineContainer(name, image, portName string, port int32, probePath, request, limit string) corev1.Container {
	return corev1.Container{
		Name: name, Image: image,
		Ports:        []corev1.ContainerPort{{Name: portName, ContainerPort: port}},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: probePath, Port: intstr.FromInt32(port)}},
			PeriodSeconds: 2, TimeoutSeconds: 1,
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse(request)},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// baselineService is a Website's Service: NodePort, port 80 to the web server's.
func baselineService(ns string, i int) *corev1.Service {
	labels := baselineLabels(i)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d-website", i), Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

// siteImages are the images of the Websites' pods, and of the baseline's.
var siteImages = website.Images{WebServer: "localhost/kubia/nginx:local", Sync: "localhost/kubia/kubia-sync:local"}

// websitePhase is what one Website phase measured.
type websitePhase struct {
	took time.Duration
	// creation and steady are the controller's writes until converged and during the
	// steady period after.
	creation, steady writeCount
}

func (p websitePhase) report(b *testing.B, n int, mode string) {
	b.ReportMetric(float64(p.creation.writes)/float64(n), "writes/website-creation-"+mode)
	b.ReportMetric(float64(p.creation.events)/float64(n), "events/website-creation-"+mode)
	b.ReportMetric(float64(p.steady.writes+p.steady.events)/float64(n), "writes/website-steady-"+mode)
}

// websites runs Kubia's controllers for a new namespace, creates n Websites there with 16
// workers and waits until they and their children converged, then for the steady period.
func websites(b *testing.B, mode string, n int, steady time.Duration, on servers) websitePhase {
	ns := harness.Namespace(b)
	counter := &writeCounter{}
	stopController := startController(b, ns, counter)
	watched, stopWatch := watchNamespace(b, ns, &extensionsv1.Website{}, &appsv1.ReplicaSet{}, &corev1.Pod{})
	counter.take() // the controller's start
	before := on.read(b)
	began := before.at
	createAll(b, n, func(i int) client.Object {
		return &extensionsv1.Website{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
			Spec:       extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i)},
		}
	})
	b.Logf("%s: created %d Websites in %s", mode, n, time.Since(began))
	took := waitConverged(b, began, watched, n, map[string]check{
		"Websites report their node port": websitesReported,
		"ReplicaSets and Pods created":    childrenCreated,
	})
	converged := on.read(b)
	logBetween(b, mode+" until converged", before, converged)
	phase := websitePhase{took: took, creation: counter.take()}
	time.Sleep(steady)
	phase.steady = counter.take()
	logBetween(b, fmt.Sprintf("%s in %s of steady state", mode, steady), converged, on.read(b))
	// The controller stops first: it would recreate what the namespace's deletion removes.
	stopWatch()
	stopController()
	deleteNamespace(b, ns)
	return phase
}

// servers are what the phases run on: the API servers whose writes
// (apiserver_request_total) and the processes whose CPU time are logged for each phase,
// to tell where its time went.
type servers struct {
	apis  []*rest.Config
	procs map[string]int // PIDs by name
}

// clusterServers are the control plane's, and this process: Kubia's controller, and the
// benchmark's clients and caches.
func clusterServers(b *testing.B) servers {
	s := servers{apis: []*rest.Config{harness.Get(b).Config}, procs: map[string]int{"this process": os.Getpid()}}
	for _, c := range harness.Get(b).Cluster.Components() {
		s.procs[c.Name] = c.PID
	}
	return s
}

// with adds kubia-apiserver and its etcd. Website writes go to kubia-apiserver:
// kube-apiserver only proxies them, and does not count them in apiserver_request_total.
func (s servers) with(srv *harness.APIServer) servers {
	procs := maps.Clone(s.procs)
	procs["kubia-apiserver"], procs["kubia-apiserver's etcd"] = srv.PID(), srv.EtcdPID()
	return servers{apis: append(slices.Clone(s.apis), srv.DirectConfig()), procs: procs}
}

// reading is what the servers had done by one moment.
type reading struct {
	at     time.Time
	writes map[string]float64
	// cpu is the CPU seconds each process has used; machine, all processes together.
	cpu     map[string]float64
	machine float64
}

func (s servers) read(b *testing.B) reading {
	r := reading{at: time.Now(), writes: apiWrites(b, s.apis...), cpu: map[string]float64{}}
	for name, pid := range s.procs {
		seconds, err := harness.CPUSeconds(pid)
		if err != nil {
			b.Fatal(err)
		}
		r.cpu[name] = seconds
	}
	var err error
	if r.machine, err = harness.MachineCPUSeconds(); err != nil {
		b.Fatal(err)
	}
	return r
}

// watchAggregatedWebsites restarts kube-controller-manager so that its garbage collector
// watches the Websites kubia-apiserver serves, as in a cluster started in aggregated mode.
// Without the restart it had still not seen them 15 minutes after the switch: its watch
// was opened on the CRD's storage, and the watches that follow presumably ask
// kubia-apiserver for events after a resource version of kube-apiserver's etcd, which
// kubia-apiserver's own etcd is far from reaching. Meanwhile it fetched every Website its children name, again
// and again at its queue's rate limit (10 a second, each also a SubjectAccessReview), work
// the CRD phase did not have. A Website deleted in the foreground goes only once the
// garbage collector has seen its deletion, which proves that it watches.
func watchAggregatedWebsites(b *testing.B) {
	if err := harness.Get(b).Cluster.RestartControllerManager(b.Context()); err != nil {
		b.Fatal(err)
	}
	ns := harness.Namespace(b)
	c := harness.Get(b).Client
	probe := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: "gc-probe", Namespace: ns},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/gc-probe.git", localcluster.DefaultNodeIP)},
	}
	if err := c.Create(b.Context(), probe); err != nil {
		b.Fatal(err)
	}
	if err := c.Delete(b.Context(), probe, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		b.Fatal(err)
	}
	harness.Eventually(b, 2*time.Minute, "the garbage collector completed a foreground deletion", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKeyFromObject(probe), probe)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the probe Website still exists (%v)", err)
	})
	deleteNamespace(b, ns)
}

// startController runs Kubia's controllers for ns in this process, counting their writes
// in counter, and returns the function that stops them (the end of the benchmark does too).
func startController(b *testing.B, ns string, counter *writeCounter) func() {
	cfg := rest.CopyConfig(harness.Get(b).Config)
	cfg.Wrap(counter.wrap)
	mgr, err := manager.New(cfg, manager.Options{
		Images:      siteImages,
		MetricsAddr: "0", ProbeAddr: "0", Namespaces: []string{ns}, SeveralPerProcess: true,
		QPS: 1000, Burst: 2000, Workers: envInt("KUBIA_BENCH_WORKERS", 8),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = mgr.Start(ctx) })
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	b.Cleanup(stop)
	mgr.GetCache().WaitForCacheSync(ctx)
	return stop
}

// check tells what part of a phase is still missing in the benchmark's cache.
type check func(ctx context.Context, watched cache.Cache, n int) error

// waitConverged waits until every check passes and returns the time since began; it logs
// when each passed, to tell which part took longest.
func waitConverged(b *testing.B, began time.Time, watched cache.Cache, n int, checks map[string]check) time.Duration {
	passed := map[string]time.Duration{}
	harness.Eventually(b, 15*time.Minute, "the phase converged", func(ctx context.Context) error {
		var missing []string
		for name, c := range checks {
			if _, ok := passed[name]; ok {
				continue // counts only grow
			}
			if err := c(ctx, watched, n); err != nil {
				missing = append(missing, err.Error())
				continue
			}
			passed[name] = time.Since(began)
		}
		if len(missing) > 0 {
			return errors.New(strings.Join(missing, "; "))
		}
		return nil
	})
	took := time.Since(began)
	var lines []string
	for name, at := range passed {
		lines = append(lines, fmt.Sprintf("%s after %s", name, at.Round(time.Millisecond)))
	}
	slices.Sort(lines)
	b.Logf("converged in %s: %s", took.Round(time.Millisecond), strings.Join(lines, ", "))
	return took
}

func childrenCreated(ctx context.Context, watched cache.Cache, n int) error {
	var pods corev1.PodList
	if err := watched.List(ctx, &pods, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	var sets appsv1.ReplicaSetList
	if err := watched.List(ctx, &sets, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	if len(pods.Items) < n || len(sets.Items) < n {
		return fmt.Errorf("%d ReplicaSets, %d Pods of %d", len(sets.Items), len(pods.Items), n)
	}
	return nil
}

func nodePortsAssigned(ctx context.Context, watched cache.Cache, n int) error {
	var services corev1.ServiceList
	if err := watched.List(ctx, &services, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	done := 0
	for _, s := range services.Items {
		if len(s.Spec.Ports) > 0 && s.Spec.Ports[0].NodePort != 0 {
			done++
		}
	}
	if done < n {
		return fmt.Errorf("%d of %d Services have a node port", done, n)
	}
	return nil
}

func websitesReported(ctx context.Context, watched cache.Cache, n int) error {
	var sites extensionsv1.WebsiteList
	if err := watched.List(ctx, &sites, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	done := 0
	for _, s := range sites.Items {
		if s.Status.NodePort != 0 && s.Status.ObservedGeneration == s.Generation {
			done++
		}
	}
	if done < n {
		return fmt.Errorf("%d of %d Websites report their node port", done, n)
	}
	return nil
}

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

// apiWrites reads the servers' counts of writes so far by resource, subresource and verb
// (apiserver_request_total), to show what each phase made the cluster do.
func apiWrites(b *testing.B, servers ...*rest.Config) map[string]float64 {
	writes := map[string]float64{}
	for _, cfg := range servers {
		eachSample(b, cfg, "apiserver_request_total", func(l map[string]string, v float64) {
			switch l["verb"] {
			case "POST", "PUT", "PATCH", "DELETE":
				writes[strings.TrimSuffix(l["resource"]+"/"+l["subresource"], "/")+" "+l["verb"]] += v
			}
		})
	}
	return writes
}

// metricSum adds up the samples of metric family name at the server's /metrics whose
// labels include match.
func metricSum(b *testing.B, server *rest.Config, name string, match map[string]string) float64 {
	sum := 0.0
	eachSample(b, server, name, func(l map[string]string, v float64) {
		for k, want := range match {
			if l[k] != want {
				return
			}
		}
		sum += v
	})
	return sum
}

// eachSample calls each with the labels and value of every sample of metric family name
// at the server's /metrics; it fails the benchmark if the server has no such family.
func eachSample(b *testing.B, server *rest.Config, name string, each func(labels map[string]string, value float64)) {
	data, err := kubernetes.NewForConfigOrDie(server).RESTClient().Get().AbsPath("/metrics").DoRaw(b.Context())
	if err != nil {
		b.Fatalf("metrics of %s: %v", server.Host, err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		b.Fatalf("metrics of %s: %v", server.Host, err)
	}
	family := families[name]
	if family == nil {
		b.Fatalf("%s reports no %s", server.Host, name)
	}
	for _, m := range family.GetMetric() {
		labels := map[string]string{}
		for _, pair := range m.GetLabel() {
			labels[pair.GetName()] = pair.GetValue()
		}
		each(labels, m.GetCounter().GetValue()+m.GetGauge().GetValue()+m.GetUntyped().GetValue())
	}
}

// logBetween logs the writes of each kind made between two readings (kinds with fewer
// than 10 left out), and the CPU time each process and the machine used.
func logBetween(b *testing.B, phase string, before, after reading) {
	var lines []string
	total := 0.0
	for key, count := range after.writes {
		if d := count - before.writes[key]; d >= 10 {
			lines = append(lines, fmt.Sprintf("%6.0f %s", d, key))
			total += d
		}
	}
	slices.Sort(lines)
	var cpu []string
	ours := 0.0
	for name, seconds := range after.cpu {
		d := seconds - before.cpu[name]
		cpu = append(cpu, fmt.Sprintf("%s %.1f", name, d))
		ours += d
	}
	slices.Sort(cpu)
	machine := after.machine - before.machine
	b.Logf("API writes during %s: %.0f\n%s\nCPU seconds in %.1f s on %d cores: %s; the machine %.1f, other processes %.1f",
		phase, total, strings.Join(lines, "\n"), after.at.Sub(before.at).Seconds(), runtime.NumCPU(),
		strings.Join(cpu, ", "), machine, machine-ours)
}
