package nodeapiserver

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
	starter "github.com/kubia-dev/kubia/templates"
	"github.com/kubia-dev/kubia/test/harness"
)

// instances is how many PostgreSQL databases the benchmark starts at once (the issue's
// figure). Each gets 128Mi, so that all fit on the node.
const instances = 50

// BenchmarkTemplateInstances measures, on the node with the chart in aggregated mode,
// the time until 50 TemplateInstances of the starter catalog's postgresql-ephemeral,
// created at once, are all Ready (their Deployments available: PostgreSQL initialised and
// answering its probe). The baseline, measured first in the same run, is the same 50
// templates processed in the test and their objects created directly: the ratio is what
// instantiating through kubia-apiserver and kubia-controller-manager (impersonation,
// dry run, status) adds to running the databases. Run with `make bench` (-benchtime 1x).
func BenchmarkTemplateInstances(b *testing.B) {
	harness.RequireNode(b)
	installChart(b)
	tpl := starterTemplate(b, "postgresql-ephemeral")
	for b.Loop() {
		baseline := measure(b, createDirectly(b, tpl), deploymentsAvailable)
		instantiated := measure(b, createInstances(b, tpl), instancesReady)
		b.ReportMetric(baseline.all.Seconds(), "s-all-50-baseline")
		b.ReportMetric(instantiated.all.Seconds(), "s-all-50-ready")
		b.ReportMetric(instantiated.p50.Seconds(), "s-p50-ready")
		b.ReportMetric(instantiated.all.Seconds()/baseline.all.Seconds(), "ratio-to-baseline")
	}
}

func starterTemplate(b *testing.B, name string) *templatev1.Template {
	manifests, err := starter.Manifests()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range manifests {
		tpl := &templatev1.Template{}
		if err := yaml.Unmarshal(m, tpl); err != nil {
			b.Fatal(err)
		}
		if tpl.Name == name {
			return tpl
		}
	}
	b.Fatalf("no starter template %s", name)
	return nil
}

// databaseParams are instance i's parameters.
func databaseParams(i int) map[string]string {
	return map[string]string{"DATABASE_SERVICE_NAME": fmt.Sprintf("pg-%d", i), "MEMORY_LIMIT": "128Mi"}
}

// started is a namespace where the databases were created, from began on.
type started struct {
	ns    string
	began time.Time
}

// createDirectly processes the template for each database and creates the objects, as
// fast as the test can, in a namespace of their own.
func createDirectly(b *testing.B, tpl *templatev1.Template) started {
	ns := harness.Namespace(b)
	var objects [][]*unstructured.Unstructured
	for i := range instances {
		processed := tpl.DeepCopy()
		for j, p := range processed.Parameters {
			if v, ok := databaseParams(i)[p.Name]; ok {
				processed.Parameters[j].Value, processed.Parameters[j].Generate = v, ""
			}
		}
		if errs := templateprocessing.Process(processed, nil); len(errs) > 0 {
			b.Fatal(errs.ToAggregate())
		}
		var objs []*unstructured.Unstructured
		for _, item := range processed.Objects {
			// Processing leaves each object decoded in Object (unstructured), not Raw.
			u, ok := item.Object.(*unstructured.Unstructured)
			if !ok {
				b.Fatalf("a processed object is a %T", item.Object)
			}
			u.SetNamespace(ns)
			objs = append(objs, u)
		}
		objects = append(objects, objs)
	}
	began := time.Now()
	parallel(b, func(i int) error {
		for _, obj := range objects[i] {
			if err := harness.Get(b).Client.Create(b.Context(), obj); err != nil {
				return err
			}
		}
		return nil
	})
	return started{ns: ns, began: began}
}

// createInstances creates each database's parameters Secret and TemplateInstance.
func createInstances(b *testing.B, tpl *templatev1.Template) started {
	ns := harness.Namespace(b)
	c := harness.Get(b).Client
	began := time.Now()
	parallel(b, func(i int) error {
		name := fmt.Sprintf("pg-%d", i)
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-parameters", Namespace: ns}, StringData: databaseParams(i)}
		if err := c.Create(b.Context(), secret); err != nil {
			return err
		}
		embedded := *tpl.DeepCopy()
		ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: templatev1.TemplateInstanceSpec{Template: embedded, Secret: &corev1.LocalObjectReference{Name: secret.Name}}}
		return c.Create(b.Context(), ti)
	})
	return started{ns: ns, began: began}
}

// parallel runs create for every database at once.
func parallel(b *testing.B, create func(i int) error) {
	var wg sync.WaitGroup
	for i := range instances {
		wg.Go(func() {
			if err := create(i); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// durations are how long all databases took, and the median one.
type durations struct{ all, p50 time.Duration }

// measure polls until ready says every database of the namespace is, recording when
// each was first seen ready, then deletes the namespace's databases so that the next
// measurement has the node to itself.
func measure(b *testing.B, s started, ready func(ctx context.Context, c client.Client, ns string) ([]string, error)) durations {
	seen := map[string]time.Duration{}
	harness.Eventually(b, 15*time.Minute, fmt.Sprintf("%d databases ready", instances), func(ctx context.Context) error {
		names, err := ready(ctx, harness.Get(b).Client, s.ns)
		if err != nil {
			return err
		}
		for _, name := range names {
			if _, ok := seen[name]; !ok {
				seen[name] = time.Since(s.began)
			}
		}
		if len(seen) < instances {
			return fmt.Errorf("%d of %d ready", len(seen), instances)
		}
		return nil
	})
	all := slices.Sorted(func(yield func(time.Duration) bool) {
		for _, d := range seen {
			if !yield(d) {
				return
			}
		}
	})
	deleteDatabases(b, s.ns)
	return durations{all: all[len(all)-1], p50: all[len(all)/2]}
}

func deploymentsAvailable(ctx context.Context, c client.Client, ns string) ([]string, error) {
	var list appsv1.DeploymentList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var names []string
	for _, d := range list.Items {
		if d.Status.AvailableReplicas >= 1 {
			names = append(names, d.Name)
		}
	}
	return names, nil
}

func instancesReady(ctx context.Context, c client.Client, ns string) ([]string, error) {
	var list templatev1.TemplateInstanceList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var names []string
	for _, ti := range list.Items {
		for _, c := range ti.Status.Conditions {
			if c.Type == templatev1.TemplateInstanceInstantiateFailure && c.Status == corev1.ConditionTrue {
				return nil, fmt.Errorf("instance %s failed: %s", ti.Name, c.Message)
			}
			if c.Type == templatev1.TemplateInstanceReady && c.Status == corev1.ConditionTrue {
				names = append(names, ti.Name)
			}
		}
	}
	return names, nil
}

// deleteDatabases deletes the namespace's Deployments and waits until their pods are gone.
func deleteDatabases(b *testing.B, ns string) {
	c := harness.Get(b).Client
	if err := c.DeleteAllOf(b.Context(), &appsv1.Deployment{}, client.InNamespace(ns), client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		b.Fatal(err)
	}
	harness.Eventually(b, 10*time.Minute, "the databases' pods are gone", func(ctx context.Context) error {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
}
