package scale

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

// BenchmarkWebsiteConvergence measures four phases in one cluster, one after the other,
// each in a namespace of its own that is deleted (and gone) before the next begins:
//
//   - the baseline: a client with 16 workers creates what N (KUBIA_BENCH_WEBSITES,
//     default 1000) Websites contain, a Deployment and a NodePort Service each, and waits
//     until kube-controller-manager (QPS 1000) has made every ReplicaSet and Pod and every
//     Service has its node port;
//   - the CRD floor (crdFloor): the same client also creates the Websites, owning the
//     children, and writes each one's status once, with no controller: the least any
//     controller of the Website CRD could cost;
//   - N Websites served by kubia-apiserver, started for this phase, until every
//     Website's status has its node port (status.url waits for a web server, which no pod
//     here becomes) and every ReplicaSet and Pod exists, the baseline's wait plus the
//     Website's own status;
//   - the same with Websites served by the CRD again, kubia-apiserver stopped.
//
// kube-controller-manager is restarted before each Website phase (restartGarbageCollector),
// so both begin alike, with a garbage collector that watches the server of the phase.
//
// It reports each phase's time and their ratios, and the controller's writes per Website
// in each mode on creation and during KUBIA_BENCH_STEADY (default 5m) of steady state,
// measured in both modes: in aggregated mode the controller's watches go through the
// aggregator to kubia-apiserver's watch cache, which could make it write where the CRD
// does not.
//
// Deleting each phase's namespace keeps the phases alike (none starts among the objects of
// another) and gives their node ports back: four phases of 1000 NodePort Services
// would need 4000 of the 2768 ports in kube-apiserver's default range (30000-32767, which
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
		floor := crdFloor(b, n, clusterServers(b))
		srv := harness.StartAPIServer(b)
		restartGarbageCollector(b)
		aggregated := websites(b, "aggregated mode", n, steady, clusterServers(b).with(srv))
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
		restartGarbageCollector(b)
		crd := websites(b, "CRD mode", n, steady, clusterServers(b))
		b.ReportMetric(base.Seconds(), "s-baseline")
		b.ReportMetric(floor.Seconds(), "s-crd-floor")
		b.ReportMetric(crd.took.Seconds(), "s-websites-crd")
		b.ReportMetric(aggregated.took.Seconds(), "s-websites-aggregated")
		b.ReportMetric(floor.Seconds()/base.Seconds(), "x-crd-floor-of-baseline")
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
	waitQuiet(b)
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

// crdFloor does, without Kubia's controller, the writes a Website in CRD mode cannot do
// without, and returns the time until it converged as the Website phases do: the 16
// workers create Website i, then its Deployment and Service (shaped like the baseline's,
// owned by the Website as the controller's children are), then patch the Website's status
// once with the node port and conditions shaped like the controller's. No reads, no
// events, no reconcile: what any controller of a Website CRD costs at least, so its ratio
// to the baseline is the least CRD mode could reach.
func crdFloor(b *testing.B, n int, on servers) time.Duration {
	ns := harness.Namespace(b)
	watched, stop := watchNamespace(b, ns, &extensionsv1.Website{}, &appsv1.ReplicaSet{}, &corev1.Pod{})
	waitQuiet(b)
	before := on.read(b)
	began := before.at
	inParallel(b, n, func(ctx context.Context, c client.Client, i int) error {
		site := &extensionsv1.Website{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d", i), Namespace: ns},
			Spec:       extensionsv1.WebsiteSpec{GitRepo: fmt.Sprintf("https://%s/site-%d.git", localcluster.DefaultNodeIP, i)},
		}
		if err := c.Create(ctx, site); err != nil {
			return err
		}
		owner := metav1.NewControllerRef(site, extensionsv1.GroupVersion.WithKind("Website"))
		deploy, svc := baselineDeployment(ns, i), baselineService(ns, i)
		deploy.OwnerReferences, svc.OwnerReferences = []metav1.OwnerReference{*owner}, []metav1.OwnerReference{*owner}
		if err := c.Create(ctx, deploy); err != nil {
			return err
		}
		if err := c.Create(ctx, svc); err != nil {
			return err
		}
		before := site.DeepCopy()
		site.Status = floorStatus(site.Generation, svc.Spec.Ports[0].NodePort)
		return c.Status().Patch(ctx, site, client.MergeFrom(before))
	})
	b.Logf("CRD floor: created %d Websites and their children in %s", n, time.Since(began))
	took := waitConverged(b, began, watched, n, websitesConverged)
	logBetween(b, "the CRD floor until converged", before, on.read(b))
	stop()
	deleteNamespace(b, ns)
	return took
}

// floorStatus is shaped like the status the controller first writes: the node port, and
// its four conditions while the web server is not up.
func floorStatus(generation int64, nodePort int32) extensionsv1.WebsiteStatus {
	now := metav1.Now()
	rolling := "0 of 1 web servers available"
	condition := func(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message,
			ObservedGeneration: generation, LastTransitionTime: now}
	}
	return extensionsv1.WebsiteStatus{
		ObservedGeneration: generation, NodePort: nodePort,
		Conditions: []metav1.Condition{
			condition(website.ConditionReady, metav1.ConditionFalse, website.ReasonRollingOut, rolling),
			condition(website.ConditionProgressing, metav1.ConditionTrue, website.ReasonRollingOut, rolling),
			condition(website.ConditionDegraded, metav1.ConditionFalse, website.ReasonAsExpected, rolling),
			condition(website.ConditionSynced, metav1.ConditionUnknown, website.ReasonWaitingForSync, "No kubia-sync has finished a sync yet"),
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
	waitQuiet(b)
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
	took := waitConverged(b, began, watched, n, websitesConverged)
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

// restartGarbageCollector restarts kube-controller-manager so that its garbage collector
// watches the Websites of the server that now serves them, as in a cluster started that
// way. Without the restart, after a switch from the CRD to kubia-apiserver, it had still
// not seen kubia-apiserver's Websites 15 minutes later: its watch was opened on the
// CRD's storage, and the watches that follow presumably ask kubia-apiserver for events
// after a resource version of kube-apiserver's etcd, which kubia-apiserver's own etcd is
// far from reaching. Meanwhile it fetched every Website its children name, again and
// again at its queue's rate limit (10 a second, each also a SubjectAccessReview), work a
// phase should not have. A Website deleted in the foreground goes only once the garbage
// collector has seen its deletion, which proves that it watches.
func restartGarbageCollector(b *testing.B) {
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

// websitesConverged are the checks of a Website phase: the baseline's wait for the
// children, plus each Website's status.
var websitesConverged = map[string]check{
	"Websites report their node port": websitesReported,
	"ReplicaSets and Pods created":    childrenCreated,
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
