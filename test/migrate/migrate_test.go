// Package migrate_test switches a cluster's Websites from the CRD to kubia-apiserver with
// `kubia website migrate`, and checks that nothing the Websites run is replaced.
package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/cli/website"
	controller "github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

// The cluster starts with Websites served by the CRD; the test brings kubia-apiserver in.
func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

func kubia(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out := &bytes.Buffer{}
	cmd := website.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out})
	cmd.SetArgs(append(args, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath(), "--namespace", ns))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("kubia website %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("kubia website %s:\n%s", strings.Join(args, " "), out)
	return out.String()
}

type child struct {
	obj client.Object
	uid types.UID
}

// Export, switch, import: the Websites come back in kubia-apiserver with new UIDs, their
// Deployments, Services and Ingress are the same objects (same UIDs, same node port),
// owned by the new Websites, never garbage-collected, and the controller takes them up
// without a conflict.
func TestMigrateFromCRDToAPIServer(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	opts := manager.Options{
		Images:     controller.Images{WebServer: images.Ref("nginx"), Sync: images.Ref("kubia-sync")},
		Namespaces: []string{ns},
	}
	stopControllers := harness.StartControllers(t, opts)
	sites := map[string]extv1.WebsiteSpec{
		"plain":   {GitRepo: "https://example.org/plain.git"},
		"ingress": {GitRepo: "https://example.org/ingress.git", Ingress: &extv1.WebsiteIngress{Host: "site.example.org"}},
	}
	oldUIDs := map[string]types.UID{}
	var kids []child
	for name, spec := range sites {
		w := &extv1.Website{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
		if err := c.Create(t.Context(), w); err != nil {
			t.Fatal(err)
		}
		oldUIDs[name] = w.UID
		objs := []client.Object{&appsv1.Deployment{}, &corev1.Service{}}
		if spec.Ingress != nil {
			objs = append(objs, &networkingv1.Ingress{})
		}
		for _, obj := range objs {
			obj.SetName(name + "-website")
			obj.SetNamespace(ns)
			harness.WaitFor(t, obj, time.Minute, "the controller created it", func() error {
				if !metav1.IsControlledBy(obj, w) {
					return fmt.Errorf("not controlled by %s", w.UID)
				}
				return nil
			})
			kids = append(kids, child{obj, obj.GetUID()})
		}
	}
	var svc corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "plain-website"}, &svc); err != nil {
		t.Fatal(err)
	}
	nodePort := svc.Spec.Ports[0].NodePort

	file := filepath.Join(t.TempDir(), "websites.yaml")
	kubia(t, ns, "migrate", "export", "-f", file)
	harness.StartAPIServer(t)
	harness.Eventually(t, time.Minute, "kubia-apiserver serves the group (no Website yet)", func(ctx context.Context) error {
		var list extv1.WebsiteList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(list.Items) != 0 {
			return fmt.Errorf("%d Websites: still the CRD's", len(list.Items))
		}
		return nil
	})
	// The CRD's Websites are gone from the API. The garbage collector deletes what an
	// absent owner's UID still owns once its watch of Websites restarts (up to an hour
	// later): no child may reference an old UID now.
	assertSameChildren(t, kids)
	for _, k := range kids {
		for _, ref := range k.obj.GetOwnerReferences() {
			if ref.UID == oldUIDs[ref.Name] {
				t.Errorf("%T %s still references the CRD's Website %s", k.obj, k.obj.GetName(), ref.UID)
			}
		}
	}

	// Watches opened before the switch stay on the CRD's storage until they end: the
	// controller starts again, as the chart's rollout does.
	stopControllers()
	harness.StartControllers(t, opts)
	kubia(t, ns, "migrate", "import", "-f", file)
	for name := range sites {
		w := &extv1.Website{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		harness.WaitFor(t, w, time.Minute, "the controller reports on the imported Website without a conflict", func() error {
			if w.UID == oldUIDs[name] {
				return fmt.Errorf("still the old UID")
			}
			ready := meta.FindStatusCondition(w.Status.Conditions, controller.ConditionReady)
			if ready == nil || ready.ObservedGeneration != w.Generation {
				return fmt.Errorf("no Ready condition for generation %d yet", w.Generation)
			}
			if ready.Reason == controller.ReasonChildConflict {
				return fmt.Errorf("conflict: %s", ready.Message)
			}
			return nil
		})
	}
	time.Sleep(5 * time.Second)
	assertSameChildren(t, kids)
	for _, k := range kids {
		owner := metav1.GetControllerOf(k.obj)
		if owner == nil || owner.Kind != "Website" || owner.UID == oldUIDs[owner.Name] {
			t.Errorf("%T %s: controller %+v, want the imported Website", k.obj, k.obj.GetName(), owner)
		}
		if _, ok := k.obj.GetAnnotations()["kubia.dev/migrated-from-website-uid"]; ok {
			t.Errorf("%T %s keeps the migration annotation", k.obj, k.obj.GetName())
		}
	}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "plain-website"}, &svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Ports[0].NodePort != nodePort {
		t.Errorf("node port %d after the migration, was %d", svc.Spec.Ports[0].NodePort, nodePort)
	}
	out := harness.Kubectl(t, "get", "websites.v1alpha1.extensions.example.com", "-n", ns, "-o", "name")
	if !strings.Contains(out, "website.extensions.example.com/plain") || !strings.Contains(out, "website.extensions.example.com/ingress") {
		t.Errorf("v1alpha1 (kubia-apiserver only) lists:\n%s", out)
	}
}

// assertSameChildren fails unless every child still exists with its UID (re-read into it).
func assertSameChildren(t *testing.T, kids []child) {
	t.Helper()
	for _, k := range kids {
		if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKeyFromObject(k.obj), k.obj); err != nil {
			t.Fatalf("%T %s: %v", k.obj, k.obj.GetName(), err)
		}
		if k.obj.GetUID() != k.uid {
			t.Fatalf("%T %s was replaced (uid %s, was %s)", k.obj, k.obj.GetName(), k.obj.GetUID(), k.uid)
		}
	}
}
