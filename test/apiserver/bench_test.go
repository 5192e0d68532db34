package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/config/crd"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/templateprocessing"
	"github.com/kubia-dev/kubia/internal/templateprocessing/templatetest"
	"github.com/kubia-dev/kubia/test/harness"
)

// baselineGroup serves the Website CRD's exact schema as a CRD, beside kubia-apiserver's
// Websites on the same kube-apiserver: the two paths measured in one run.
const baselineGroup = "baseline.kubia.dev"

var baselineWebsites = schema.GroupVersionResource{Group: baselineGroup, Version: "v1", Resource: "websites"}

// BenchmarkAPIPaths compares Websites served by kubia-apiserver through the aggregator
// with the same kind served by a CRD, in the same run: GET and watch-event latency, LIST
// of 1000 objects, and create throughput with 16 writers. The metrics are the aggregated
// path's figures over the CRD's (ratio-*), and each path's p50/p99 in milliseconds, from
// the last iteration (earlier ones warm both paths up). Run with `make bench`.
//
// LIST is measured twice: as JSON into unstructured objects (the dynamic client, like the
// other operations), and by a typed client preferring protobuf, as kube-controller-manager's
// are (Accept: protobuf, then JSON), into v1 Websites (list-protobuf-*): kubia-apiserver
// answers it in protobuf, the CRD in JSON (custom resources have no protobuf encoding).
func BenchmarkAPIPaths(b *testing.B) {
	env := harness.Get(b)
	installBaselineCRD(b)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: measure the servers
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	directCfg := harness.AggregatedAPIServer(b).DirectConfig()
	direct := dynamicClient(b, directCfg)
	preferProtobuf := func(cfg *rest.Config, gv schema.GroupVersion) *rest.RESTClient {
		return typedClient(b, cfg, gv, runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf+","+runtime.ContentTypeJSON)
	}
	paths := []struct {
		name string
		gvr  schema.GroupVersionResource
		// read is the client of the reads: direct reads kubia-apiserver without the
		// aggregator, which tells what the proxy hop costs.
		read dynamic.Interface
		// typed is the protobuf-preferring client of the same reads, answered in listedAs.
		typed    *rest.RESTClient
		listedAs string
	}{
		{"crd", baselineWebsites, dyn, preferProtobuf(cfg, baselineGroupVersion), runtime.ContentTypeJSON},
		{"aggregated", websitesV1, dyn, preferProtobuf(cfg, extv1.GroupVersion), runtime.ContentTypeProtobuf},
		{"direct", websitesV1, direct, preferProtobuf(directCfg, extv1.GroupVersion), runtime.ContentTypeProtobuf},
	}
	results := map[string]map[string]float64{}
	for b.Loop() {
		for _, p := range paths {
			ns := harness.Namespace(b)
			res := p.read.Resource(p.gvr).Namespace(ns)
			if p.name == "direct" {
				// Created through the aggregator, like the others; only reads go direct.
				createThroughput(b, dyn.Resource(p.gvr).Namespace(ns), p.gvr.Group, 1000, 16)
			}
			r := map[string]float64{}
			if p.name != "direct" {
				r["create-per-s"] = createThroughput(b, res, p.gvr.Group, 1000, 16)
			}
			r["get-p50-ms"], r["get-p99-ms"] = percentiles(latencies(b, 500, func(ctx context.Context) error {
				_, err := res.Get(ctx, "site-1", metav1.GetOptions{})
				return err
			}))
			r["list-p50-ms"], r["list-p99-ms"] = percentiles(latencies(b, 30, func(ctx context.Context) error {
				list, err := res.List(ctx, metav1.ListOptions{})
				if err == nil && len(list.Items) != 1000 {
					err = fmt.Errorf("listed %d", len(list.Items))
				}
				return err
			}))
			r["list-protobuf-p50-ms"], r["list-protobuf-p99-ms"] = percentiles(latencies(b, 30, func(ctx context.Context) error {
				return typedList(ctx, p.typed, ns, p.listedAs)
			}))
			r["watch-p50-ms"], r["watch-p99-ms"] = percentiles(watchLatencies(b, res, 200))
			results[p.name] = r
		}
	}
	for metric, agg := range results["aggregated"] {
		b.ReportMetric(agg, "aggregated-"+metric)
		b.ReportMetric(results["crd"][metric], "crd-"+metric)
		b.ReportMetric(agg/results["crd"][metric], "ratio-"+metric)
	}
	for metric, v := range results["direct"] {
		b.ReportMetric(v, "direct-"+metric)
	}
}

// typedList lists the namespace's Websites into v1 Websites, and fails unless the answer
// came as mediaType and held the benchmark's 1000 objects.
func typedList(ctx context.Context, c *rest.RESTClient, ns, mediaType string) error {
	var list extv1.WebsiteList
	var got string
	if err := c.Get().Namespace(ns).Resource("websites").Do(ctx).ContentType(&got).Into(&list); err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	if got != mediaType || len(list.Items) != 1000 {
		return fmt.Errorf("listed %d in %s, want 1000 in %s", len(list.Items), got, mediaType)
	}
	return nil
}

func installBaselineCRD(b *testing.B) {
	b.Helper()
	manifests, err := crd.Manifests()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range manifests {
		if name, _ := crd.Name(m); name != manager.WebsiteCRDName {
			continue
		}
		var def apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(m, &def); err != nil {
			b.Fatal(err)
		}
		def.Name = "websites." + baselineGroup
		def.Spec.Group = baselineGroup
		def.ResourceVersion = ""
		c := harness.Get(b).Client
		if err := c.Create(b.Context(), &def); err != nil && !strings.Contains(err.Error(), "already exists") {
			b.Fatal(err)
		}
		harness.Eventually(b, time.Minute, "the baseline CRD is served", func(ctx context.Context) error {
			_, err := dynamic.NewForConfigOrDie(harness.Get(b).Config).Resource(baselineWebsites).Namespace("default").List(ctx, metav1.ListOptions{})
			return err
		})
		return
	}
	b.Fatal("no Website CRD")
}

func siteObject(group, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": group + "/v1", "kind": "Website",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"gitRepo": "https://example.org/" + name + ".git", "replicas": int64(1), "syncInterval": "1m", "serviceType": "NodePort"},
	}}
}

// createThroughput creates n Websites with the given number of writers and returns the
// objects created per second.
func createThroughput(b *testing.B, res dynamic.ResourceInterface, group string, n, writers int) float64 {
	b.Helper()
	names := make(chan string, n)
	for i := range n {
		names <- fmt.Sprintf("site-%d", i)
	}
	close(names)
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for name := range names {
				if _, err := res.Create(b.Context(), siteObject(group, name), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(n) / time.Since(began).Seconds()
}

func latencies(b *testing.B, n int, op func(context.Context) error) []time.Duration {
	b.Helper()
	out := make([]time.Duration, 0, n)
	for range n {
		began := time.Now()
		if err := op(b.Context()); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(began))
	}
	return out
}

// watchLatencies measures, n times, from a patch's start until the watch delivers it.
func watchLatencies(b *testing.B, res dynamic.ResourceInterface, n int) []time.Duration {
	b.Helper()
	w, err := res.Watch(b.Context(), metav1.ListOptions{FieldSelector: "metadata.name=site-2", ResourceVersion: "0"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	next := func(want string) {
		for {
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Error {
					b.Fatalf("watch error: %v", ev.Object)
				}
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetAnnotations()["bench"] == want {
					return
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("no watch event for %s", want)
			}
		}
	}
	out := make([]time.Duration, 0, n)
	for i := range n {
		value := fmt.Sprint(i)
		patch := []byte(`{"metadata":{"annotations":{"bench":"` + value + `"}}}`)
		began := time.Now()
		if _, err := res.Patch(b.Context(), "site-2", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		next(value)
		out = append(out, time.Since(began))
	}
	return out
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	slices.Sort(d)
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	return ms(0.50), ms(0.99)
}

// BenchmarkProcessedTemplates POSTs the benchmark template (templatetest.Template: 100
// objects, 20 parameters, 4 generated) to processedtemplates through the aggregator, as
// `oc process` does without --local, and measures in the same run, interleaved with it, the
// baseline: the same template processed in this process, as internal/templateprocessing's
// BenchmarkProcess does (templateprocessing.Process, what the endpoint calls). Reported in
// milliseconds, p50/p99 of each: processedtemplates-* (the request's round trip, the answer
// read but not decoded), inprocess-* (Process alone), inprocess-json-* (decoding the request
// body, Process, encoding the answer: the server's work without HTTP), direct-* (the POST to
// kubia-apiserver without the aggregator's hop), and ratio-* (processedtemplates over
// inprocess). Run with `-benchtime 200x` for percentiles worth the name.
func BenchmarkProcessedTemplates(b *testing.B) {
	ns := harness.Namespace(b)
	noLimit := func(cfg *rest.Config) *rest.Config {
		cfg = rest.CopyConfig(cfg)
		cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: measure the servers
		return cfg
	}
	aggregated := templateClient(b, noLimit(harness.Get(b).Config), runtime.ContentTypeJSON)
	direct := templateClient(b, noLimit(harness.AggregatedAPIServer(b).DirectConfig()), runtime.ContentTypeJSON)
	source := templatetest.Template()
	body, err := json.Marshal(source)
	if err != nil {
		b.Fatal(err)
	}
	post := func(c *rest.RESTClient) func(context.Context) error {
		return func(ctx context.Context) error {
			return c.Post().Namespace(ns).Resource("processedtemplates").Body(body).Do(ctx).Error()
		}
	}
	processInProcess := func(tpl *templatev1.Template) func(context.Context) error {
		return func(context.Context) error {
			if errs := templateprocessing.Process(tpl, nil); len(errs) > 0 {
				return errs.ToAggregate()
			}
			return nil
		}
	}
	processJSON := func(context.Context) error {
		var tpl templatev1.Template
		if err := json.Unmarshal(body, &tpl); err != nil {
			return err
		}
		if errs := templateprocessing.Process(&tpl, nil); len(errs) > 0 {
			return errs.ToAggregate()
		}
		_, err := json.Marshal(&tpl)
		return err
	}
	checkProcessedTemplate(b, aggregated, ns, body)
	for range 10 { // warm both servers and the client up, unmeasured
		_ = latencies(b, 1, post(aggregated))
		_ = latencies(b, 1, post(direct))
	}

	var served, straight, inProcess, inProcessJSON []time.Duration
	for b.Loop() {
		// One of each per iteration, so that whatever else the machine does falls on all alike.
		// The copy that in-process processing changes is made outside its measurement, as in
		// BenchmarkProcess.
		tpl := source.DeepCopy()
		inProcess = append(inProcess, latencies(b, 1, processInProcess(tpl))...)
		inProcessJSON = append(inProcessJSON, latencies(b, 1, processJSON)...)
		served = append(served, latencies(b, 1, post(aggregated))...)
		straight = append(straight, latencies(b, 1, post(direct))...)
	}
	report := func(name string, d []time.Duration) (p50, p99 float64) {
		p50, p99 = percentiles(d)
		b.ReportMetric(p50, name+"-p50-ms")
		b.ReportMetric(p99, name+"-p99-ms")
		return p50, p99
	}
	base50, base99 := report("inprocess", inProcess)
	report("inprocess-json", inProcessJSON)
	served50, served99 := report("processedtemplates", served)
	report("direct", straight)
	b.ReportMetric(served50/base50, "ratio-p50")
	b.ReportMetric(served99/base99, "ratio-p99")
}

// checkProcessedTemplate checks once that processedtemplates processes the benchmark's
// template fully, so that the benchmark measures the real work: every object comes back
// substituted, and the generated parameters have values.
func checkProcessedTemplate(b *testing.B, c *rest.RESTClient, ns string, body []byte) {
	b.Helper()
	var processed templatev1.Template
	if err := c.Post().Namespace(ns).Resource("processedtemplates").Body(body).Do(b.Context()).Into(&processed); err != nil {
		b.Fatalf("processedtemplates: %v", err)
	}
	if len(processed.Objects) != templatetest.Objects {
		b.Fatalf("processedtemplates returned %d objects, want %d", len(processed.Objects), templatetest.Objects)
	}
	for _, obj := range processed.Objects {
		if strings.Contains(string(obj.Raw), "${") {
			b.Fatalf("an object is left unprocessed: %s", obj.Raw)
		}
	}
	for _, param := range processed.Parameters {
		if param.Value == "" {
			b.Fatalf("parameter %s has no value after processing", param.Name)
		}
	}
}
