package nodeapiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/test/harness"
)

const (
	// loadConcurrency is the load generator's number of clients; loadDuration how long
	// each measurement runs.
	loadConcurrency = 16
	loadDuration    = 5 * time.Second
	// manyRoutes is the route count of the "1000 routes present".
	manyRoutes = 1000
)

// BenchmarkRouter measures kubia-router on the node: requests/s and latency through the
// router against the same requests straight to the backend pod's IP (the baseline, in the
// same run), with keep-alive on and off, plain HTTP and edge TLS; the time from a route's
// creation to its first successful request with 10 and with 1000 routes present; and the
// router pod's memory with 1000 routes. Run with `make bench` (-benchtime 1x).
func BenchmarkRouter(b *testing.B) {
	harness.RequireNode(b)
	installChart(b)
	waitRouterReady(b)
	ns := harness.Namespace(b)
	ca := newTestCA(b)
	echoBackend(b, ns, "tls", ca.serverTLS(b, "tls."+ns+".svc"))
	routes := routeClient(b)
	plain := createRoute(b, routes, ns, "plain", func(r *routev1.Route) { r.Spec.To.Name, r.Spec.Port = "tls", httpPort })
	edge := createRoute(b, routes, ns, "edge", func(r *routev1.Route) {
		r.Spec.To.Name, r.Spec.Port = "tls", httpPort
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge}
	})
	expectServed(b, routerClient(nil), "http://"+plain.Spec.Host+"/", 200, "tls /")
	expectServed(b, routerClient(nil), "https://"+edge.Spec.Host+"/", 200, "tls /")
	podIP := backendPodIP(b, ns, "tls")
	probe := func() *cpuProbe { return startCPUProbe(b, ns, "tls") }
	for b.Loop() {
		for _, keepAlive := range []bool{true, false} {
			ka := map[bool]string{true: "keepalive", false: "no-keepalive"}[keepAlive]
			direct := runLoad(b, "http://"+net.JoinHostPort(podIP, "8080")+"/", "", keepAlive, probe)
			routed := runLoad(b, "http://"+plain.Spec.Host+"/", localcluster.DefaultNodeIP, keepAlive, probe)
			report(b, "http-"+ka, direct, routed)
			directTLS := runLoad(b, "https://"+net.JoinHostPort(podIP, "8443")+"/", "", keepAlive, probe)
			routedTLS := runLoad(b, "https://"+edge.Spec.Host+"/", localcluster.DefaultNodeIP, keepAlive, probe)
			report(b, "edge-"+ka, directTLS, routedTLS)
		}
		few := timeToServe(b, routes, ns, "few", 10)
		b.ReportMetric(few.p50.Seconds(), "s-first-request-p50-10-routes")
		b.ReportMetric(few.p99.Seconds(), "s-first-request-p99-10-routes")
		createMany(b, routes, ns, manyRoutes-12)
		many := timeToServe(b, routes, ns, "many", 10)
		b.ReportMetric(many.p50.Seconds(), "s-first-request-p50-1000-routes")
		b.ReportMetric(many.p99.Seconds(), "s-first-request-p99-1000-routes")
		b.ReportMetric(routerMemoryMiB(b), "MiB-router-1000-routes")
	}
}

// load is one measurement: requests per second and latency percentiles.
type load struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	requests int
	elapsed  time.Duration
	cpu      cpuUse
}

// runLoad sends GETs to url from loadConcurrency clients for loadDuration; dialTo, when
// set, is the address every connection goes to (the router's), as curl --resolve does.
func runLoad(b *testing.B, url, dialTo string, keepAlive bool, probe func() *cpuProbe) load {
	b.Helper()
	transport := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: loadConcurrency,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if dialTo != "" {
		transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(dialTo, port))
		}
	}
	c := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), loadDuration)
	defer cancel()
	var mu sync.Mutex
	var latencies []time.Duration
	errors := 0
	var wg sync.WaitGroup
	cpu := probe()
	start := time.Now()
	for i := 0; i < loadConcurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				began := time.Now()
				resp, err := c.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil || resp.StatusCode != 200 {
					bad++
					continue
				}
				mine = append(mine, time.Since(began))
			}
			mu.Lock()
			latencies, errors = append(latencies, mine...), errors+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	used := cpu.stop()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		b.Fatalf("no successful request to %s", url)
	}
	return load{rps: float64(len(latencies)) / elapsed.Seconds(), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors: errors,
		requests: len(latencies), elapsed: elapsed, cpu: used}
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(i, len(sorted))-1)]
}

func report(b *testing.B, name string, direct, routed load) {
	b.ReportMetric(direct.rps, "rps-"+name+"-direct")
	b.ReportMetric(routed.rps, "rps-"+name+"-router")
	b.ReportMetric(routed.rps/direct.rps, "ratio-rps-"+name)
	b.ReportMetric(float64(direct.p50.Microseconds())/1000, "ms-p50-"+name+"-direct")
	b.ReportMetric(float64(routed.p50.Microseconds())/1000, "ms-p50-"+name+"-router")
	b.ReportMetric(float64(direct.p99.Microseconds())/1000, "ms-p99-"+name+"-direct")
	b.ReportMetric(float64(routed.p99.Microseconds())/1000, "ms-p99-"+name+"-router")
	b.ReportMetric(float64((routed.p99-direct.p99).Microseconds())/1000, "ms-p99-added-"+name)
	for side, l := range map[string]load{"direct": direct, "router": routed} {
		// busy: the share of the machine's CPUs in use; per 1000 requests, the CPU time of
		// each party.
		b.ReportMetric(100*l.cpu.machine/(l.elapsed.Seconds()*float64(runtime.NumCPU())), "pct-busy-"+name+"-"+side)
		perK := 1000 / float64(l.requests)
		b.ReportMetric(l.cpu.generator*perK, "cpu-s-per-1k-generator-"+name+"-"+side)
		b.ReportMetric(l.cpu.backend*perK, "cpu-s-per-1k-backend-"+name+"-"+side)
		b.ReportMetric(l.cpu.router*perK, "cpu-s-per-1k-router-"+name+"-"+side)
	}
	if direct.errors+routed.errors > 0 {
		b.Errorf("%s: %d failed requests direct, %d through the router", name, direct.errors, routed.errors)
	}
}

// timeToServe creates n routes one after the other and measures, for each, the time from
// its creation to its first 200 through the router (polled every 10 ms).
func timeToServe(b *testing.B, routes client.Client, ns, prefix string, n int) struct{ p50, p99 time.Duration } {
	b.Helper()
	c := routerClient(nil)
	var took []time.Duration
	for i := 0; i < n; i++ {
		began := time.Now()
		r := createRoute(b, routes, ns, prefix+"-"+strconv.Itoa(i), func(r *routev1.Route) { r.Spec.To.Name, r.Spec.Port = "tls", httpPort })
		url := "http://" + r.Spec.Host + "/"
		for {
			if code, _, err := get(b.Context(), c, url); err == nil && code == 200 {
				break
			}
			if time.Since(began) > timeout {
				b.Fatalf("route %s not served after %s", r.Name, timeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
		took = append(took, time.Since(began))
	}
	slices.Sort(took)
	return struct{ p50, p99 time.Duration }{percentile(took, 50), percentile(took, 99)}
}

// createMany creates n routes from 8 clients at once and waits until the last is served.
func createMany(b *testing.B, routes client.Client, ns string, n int) {
	b.Helper()
	var wg sync.WaitGroup
	names := make(chan int)
	var last *routev1.Route
	var mu sync.Mutex
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				r := createRoute(b, routes, ns, "bulk-"+strconv.Itoa(i), func(r *routev1.Route) { r.Spec.To.Name, r.Spec.Port = "tls", httpPort })
				mu.Lock()
				last = r
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		names <- i
	}
	close(names)
	wg.Wait()
	expectServed(b, routerClient(nil), "http://"+last.Spec.Host+"/", 200, "tls /")
}

func backendPodIP(b *testing.B, ns, app string) string {
	b.Helper()
	var pods corev1.PodList
	if err := harness.Get(b).Client.List(b.Context(), &pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil || len(pods.Items) == 0 {
		b.Fatalf("pods of %s: %v", app, err)
	}
	return pods.Items[0].Status.PodIP
}

// routerMemoryMiB is the resident memory of every process of the router's pod (the
// controller, HAProxy's master and workers), found by the pod's cgroup.
func routerMemoryMiB(b *testing.B) float64 {
	b.Helper()
	total := 0.0
	for _, pid := range podPIDs(b, chartNamespace, map[string]string{"app.kubernetes.io/name": "kubia-router"}) {
		if rss, err := harness.RSSMiB(pid); err == nil {
			total += rss
		}
	}
	if total == 0 {
		b.Fatal(fmt.Errorf("no process of the router's pod found"))
	}
	return total
}

// podPIDs are the node's processes of the one pod of ns matching labels, found by the
// pod's cgroup.
func podPIDs(b *testing.B, ns string, labels map[string]string) []int {
	b.Helper()
	pods := &corev1.PodList{}
	if err := harness.Get(b).Client.List(b.Context(), pods, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil || len(pods.Items) != 1 {
		b.Fatalf("pods %v of %s: %d, %v", labels, ns, len(pods.Items), err)
	}
	uid := string(pods.Items[0].UID)
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, proc := range procs {
		cgroup, err := os.ReadFile(filepath.Join(proc, "cgroup"))
		if err != nil || (!strings.Contains(string(cgroup), "pod"+uid) && !strings.Contains(string(cgroup), "pod"+strings.ReplaceAll(uid, "-", "_"))) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(proc)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cpuProbe tells where a measurement's CPU time went: the machine as a whole, the load
// generator (this process), the router's pod and the backend's pod. On 2 cores all of
// them share the same CPUs, which is what the throughput ratio cannot show by itself.
type cpuProbe struct {
	machine, generator float64
	router, server     map[int]float64
}

// cpuUse is the CPU time of one measurement, in seconds.
type cpuUse struct{ machine, generator, router, backend float64 }

func startCPUProbe(b *testing.B, ns, backend string) *cpuProbe {
	p := &cpuProbe{}
	p.machine, _ = harness.MachineCPUSeconds()
	p.generator, _ = harness.CPUSeconds(os.Getpid())
	p.router = cpuOf(podPIDs(b, chartNamespace, map[string]string{"app.kubernetes.io/name": "kubia-router"}))
	p.server = cpuOf(podPIDs(b, ns, map[string]string{"app": backend}))
	return p
}

// stop is the CPU time used since the probe started, by the processes that were there
// then (HAProxy's worker changes only on reloads, which a measurement does not cause).
func (p *cpuProbe) stop() cpuUse {
	machine, _ := harness.MachineCPUSeconds()
	generator, _ := harness.CPUSeconds(os.Getpid())
	return cpuUse{machine: machine - p.machine, generator: generator - p.generator, router: cpuSince(p.router), backend: cpuSince(p.server)}
}

func cpuOf(pids []int) map[int]float64 {
	out := map[int]float64{}
	for _, pid := range pids {
		if s, err := harness.CPUSeconds(pid); err == nil {
			out[pid] = s
		}
	}
	return out
}

func cpuSince(before map[int]float64) float64 {
	total := 0.0
	for pid, was := range before {
		if now, err := harness.CPUSeconds(pid); err == nil {
			total += now - was
		}
	}
	return total
}
