package website_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

// Every test runs twice: Websites served by the CRD, then by kubia-apiserver.
func TestMain(m *testing.M) { harness.Main(m, harness.WithWebsiteModes()) }

const timeout = time.Minute

var testImages = website.Images{WebServer: "localhost/kubia/nginx:local", Sync: "localhost/kubia/kubia-sync:local"}

// startController runs the Website controller for namespace ns until the returned stop
// function is called or the test ends.
func startController(t *testing.T, ns string) (stop func()) {
	t.Helper()
	return harness.StartControllers(t, manager.Options{Images: testImages, Namespaces: []string{ns}})
}

func applyBookWebsite(t *testing.T, ns string) *extensionsv1.Website {
	t.Helper()
	harness.ApplyFile(t, ns, harness.BookPath(t, "kubia-website.yaml"))
	return &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "kubia", Namespace: ns}}
}

// The book's Website becomes a Deployment and a Service named kubia-website, owned by it,
// with the web server and sync containers, and a status describing them.
func TestBookWebsiteGetsDeploymentAndService(t *testing.T) {
	ns := harness.Namespace(t)
	startController(t, ns)
	site := applyBookWebsite(t, ns)
	c := harness.Get(t).Client

	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, deploy, timeout, "the Deployment exists", func() error { return nil })
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, svc, timeout, "the Service exists", func() error { return nil })
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(site), site); err != nil {
		t.Fatal(err)
	}
	for _, child := range []client.Object{deploy, svc} {
		if !metav1.IsControlledBy(child, site) {
			t.Errorf("%s is not controlled by the Website", child.GetName())
		}
		if child.GetLabels()["app.kubernetes.io/instance"] != "kubia" || child.GetLabels()[website.ManagedByLabel] != "kubia" {
			t.Errorf("%s labels = %v", child.GetName(), child.GetLabels())
		}
	}

	pod := deploy.Spec.Template.Spec
	if len(pod.Containers) != 2 || pod.Containers[0].Image != testImages.WebServer || pod.Containers[1].Image != testImages.Sync {
		t.Fatalf("containers = %+v", pod.Containers)
	}
	if args := strings.Join(pod.Containers[1].Args, " "); !strings.Contains(args, "--repo=https://github.com/luksa/kubia-website-example.git") ||
		!strings.Contains(args, "--interval=1m0s") {
		t.Errorf("sync args = %s", args)
	}
	if !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) || !ptr.Deref(pod.Containers[0].SecurityContext.ReadOnlyRootFilesystem, false) {
		t.Error("pod is not restricted: runAsNonRoot and readOnlyRootFilesystem expected")
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 || svc.Spec.Ports[0].NodePort == 0 {
		t.Errorf("service spec = %+v; want the site's port only, with a node port", svc.Spec)
	}
	if n := nodePortsOf(t, site); n != 1 {
		t.Errorf("the NodePort Website holds %d node ports, want 1", n)
	}

	// No node runs here, so no web server becomes available: Ready is False, RollingOut,
	// and no URL says the site is served.
	harness.WaitFor(t, site, timeout, "the status describes the children", func() error {
		ready := meta.FindStatusCondition(site.Status.Conditions, website.ConditionReady)
		switch {
		case site.Status.ObservedGeneration != site.Generation:
			return fmt.Errorf("observedGeneration %d, generation %d", site.Status.ObservedGeneration, site.Generation)
		case site.Status.NodePort != svc.Spec.Ports[0].NodePort:
			return fmt.Errorf("status.nodePort %d, service's %d", site.Status.NodePort, svc.Spec.Ports[0].NodePort)
		case ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != website.ReasonRollingOut:
			return fmt.Errorf("Ready condition = %+v", ready)
		case !meta.IsStatusConditionTrue(site.Status.Conditions, website.ConditionProgressing):
			return errors.New("not Progressing")
		case site.Status.URL != "":
			return fmt.Errorf("status.url %q while no web server is available", site.Status.URL)
		}
		return nil
	})
	if out := harness.Kubectl(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=kubia"); !strings.Contains(out, "Created Deployment kubia-website") {
		t.Errorf("no creation event:\n%s", out)
	}
}

// Deleting a Website lets the garbage collector remove its children.
func TestDeletingWebsiteRemovesChildren(t *testing.T) {
	ns := harness.Namespace(t)
	startController(t, ns)
	site := applyBookWebsite(t, ns)
	c := harness.Get(t).Client
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, deploy, timeout, "the Deployment exists", func() error { return nil })
	if err := c.Delete(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	for _, child := range []client.Object{deploy, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}} {
		harness.Eventually(t, timeout, "the children are garbage-collected", func(ctx context.Context) error {
			err := c.Get(ctx, client.ObjectKeyFromObject(child), child)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("%s still there (%v)", child.GetName(), err)
		})
	}
}

// A deleted child is recreated, an edited one restored, and a spec change rolls out;
// restoring the Service keeps its node port.
func TestDriftIsRepaired(t *testing.T) {
	ns := harness.Namespace(t)
	startController(t, ns)
	site := applyBookWebsite(t, ns)
	c := harness.Get(t).Client
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, deploy, timeout, "the Deployment exists", func() error { return nil })
	harness.WaitFor(t, svc, timeout, "the Service exists", func() error { return nil })
	nodePort := svc.Spec.Ports[0].NodePort

	edit(t, deploy, func() { deploy.Spec.Template.Spec.Containers[0].Image = "someone/else:latest" })
	harness.WaitFor(t, deploy, timeout, "the edited image is restored", func() error {
		if got := deploy.Spec.Template.Spec.Containers[0].Image; got != testImages.WebServer {
			return fmt.Errorf("image %s", got)
		}
		return nil
	})

	edit(t, svc, func() { svc.Spec.Ports[0].Port = 8888 })
	harness.WaitFor(t, svc, timeout, "the edited port is restored on the same node port", func() error {
		if p := svc.Spec.Ports[0]; p.Port != 80 || p.NodePort != nodePort {
			return fmt.Errorf("port %d nodePort %d (was %d)", p.Port, p.NodePort, nodePort)
		}
		return nil
	})

	edit(t, svc, func() { delete(svc.Labels, "app.kubernetes.io/instance") })
	harness.WaitFor(t, svc, timeout, "the removed label is restored", func() error {
		if got := svc.Labels["app.kubernetes.io/instance"]; got != "kubia" {
			return fmt.Errorf("label app.kubernetes.io/instance=%q", got)
		}
		return nil
	})

	if err := c.Delete(t.Context(), deploy); err != nil {
		t.Fatal(err)
	}
	uid := deploy.UID
	harness.WaitFor(t, deploy, timeout, "the deleted Deployment is recreated", func() error {
		if deploy.UID == uid {
			return errors.New("still the old Deployment")
		}
		return nil
	})

	harness.Kubectl(t, "patch", "website", "kubia", "-n", ns, "--type=merge", "-p", `{"spec":{"replicas":3,"ref":"main"}}`)
	harness.WaitFor(t, deploy, timeout, "the spec change reaches the Deployment", func() error {
		if ptr.Deref(deploy.Spec.Replicas, 0) != 3 || !strings.Contains(strings.Join(deploy.Spec.Template.Spec.Containers[1].Args, " "), "--ref=main") {
			return fmt.Errorf("replicas %d, args %v", ptr.Deref(deploy.Spec.Replicas, 0), deploy.Spec.Template.Spec.Containers[1].Args)
		}
		return nil
	})
	harness.WaitFor(t, site, timeout, "the status observed the new generation", func() error {
		if site.Status.ObservedGeneration != site.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", site.Status.ObservedGeneration, site.Generation)
		}
		return nil
	})
}

// A Deployment of the child's name that the Website does not own is left untouched; the
// Website reports the conflict.
func TestForeignChildIsNotAdopted(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	labels := map[string]string{"app": "mine"}
	foreign := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mine", Image: "mine:1"}}},
			},
		},
	}
	if err := c.Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	before := foreign.Generation
	startController(t, ns)
	site := applyBookWebsite(t, ns)
	harness.WaitFor(t, site, timeout, "the Website reports the conflict", func() error {
		ready := meta.FindStatusCondition(site.Status.Conditions, website.ConditionReady)
		if ready == nil || ready.Reason != website.ReasonChildConflict || !strings.Contains(ready.Message, "kubia-website") {
			return fmt.Errorf("Ready = %+v", ready)
		}
		if !meta.IsStatusConditionTrue(site.Status.Conditions, website.ConditionDegraded) {
			return errors.New("not Degraded")
		}
		return nil
	})
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(foreign), foreign); err != nil {
		t.Fatal(err)
	}
	// Its status is the deployment controller's to change; its spec and owners are not ours.
	if foreign.Generation != before || len(foreign.OwnerReferences) != 0 || foreign.Spec.Template.Spec.Containers[0].Image != "mine:1" {
		t.Fatalf("the foreign Deployment was changed (generation %d → %d, owners %v)", before, foreign.Generation, foreign.OwnerReferences)
	}
	if out := harness.Kubectl(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.name=kubia,type=Warning"); !strings.Contains(out, website.ReasonChildConflict) {
		t.Errorf("no Warning event for the conflict:\n%s", out)
	}
}

// In steady state the controller writes nothing: re-reconciling (here forced by touching
// the Website's annotations) leaves every resourceVersion as it was.
func TestNoWritesInSteadyState(t *testing.T) {
	ns := harness.Namespace(t)
	startController(t, ns)
	site := applyBookWebsite(t, ns)
	c := harness.Get(t).Client
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, site, timeout, "the status is written", func() error {
		if site.Status.ObservedGeneration != site.Generation || site.Status.NodePort == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	time.Sleep(2 * time.Second) // let the deployment controller settle the Deployment's status
	for _, obj := range []client.Object{deploy, svc} {
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
	}
	deployRV, svcRV := deploy.ResourceVersion, svc.ResourceVersion

	for i := range 3 {
		harness.Kubectl(t, "annotate", "website", "kubia", "-n", ns, "--overwrite", fmt.Sprintf("test/touch=%d", i))
	}
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(site), site); err != nil {
		t.Fatal(err)
	}
	siteRV := site.ResourceVersion
	time.Sleep(3 * time.Second) // several reconciles' worth
	for _, obj := range []client.Object{deploy, svc, site} {
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
	}
	if deploy.ResourceVersion != deployRV || svc.ResourceVersion != svcRV || site.ResourceVersion != siteRV {
		t.Fatalf("writes in steady state: Deployment %s→%s, Service %s→%s, Website %s→%s\n%s",
			deployRV, deploy.ResourceVersion, svcRV, svc.ResourceVersion, siteRV, site.ResourceVersion,
			harness.Describe(context.Background(), c, deploy))
	}
}

// Changes made while the controller is down are converged when it comes back, whatever
// events it missed: the book's admitted flaw does not apply.
func TestRestartConverges(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	stop := startController(t, ns)
	changed := applyBookWebsite(t, ns)
	deleted := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: "https://example.org/gone.git"}}
	if err := c.Create(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kubia-website", "gone-website"} {
		harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}, timeout, name+" exists", func() error { return nil })
	}
	stop()

	harness.Kubectl(t, "patch", "website", "kubia", "-n", ns, "--type=merge", "-p", `{"spec":{"replicas":2}}`)
	if err := c.Delete(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	created := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: "git@example.org:new.git"}}
	if err := c.Create(t.Context(), created); err != nil {
		t.Fatal(err)
	}

	startController(t, ns)
	harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "new-website", Namespace: ns}}, timeout, "the Website created meanwhile has its Deployment", func() error { return nil })
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, deploy, timeout, "the change made meanwhile reached the Deployment", func() error {
		if ptr.Deref(deploy.Spec.Replicas, 0) != 2 {
			return fmt.Errorf("replicas %d", ptr.Deref(deploy.Spec.Replicas, 0))
		}
		return nil
	})
	harness.WaitFor(t, changed, timeout, "its status observed the change", func() error {
		if changed.Status.ObservedGeneration != changed.Generation {
			return errors.New("not yet")
		}
		return nil
	})
	harness.Eventually(t, timeout, "the Website deleted meanwhile has no children left", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gone-website"}, &appsv1.Deployment{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("gone-website still there (%v)", err)
	})
}

// edit changes obj with change and updates it, retrying on conflicts with other writers
// (the deployment controller writes status all the time).
func edit(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	c := harness.Get(t).Client
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		return c.Update(t.Context(), obj)
	})
	if err != nil {
		t.Fatalf("editing %s: %v", obj.GetName(), err)
	}
}

// spec.ingress adds an Ingress for the host (TLS with the named Secret) and makes the URL
// the host's; removing it deletes the Ingress.
func TestIngressFollowsSpec(t *testing.T) {
	ns := harness.Namespace(t)
	startController(t, ns)
	c := harness.Get(t).Client
	site := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: "https://example.org/shop.git",
			Ingress: &extensionsv1.WebsiteIngress{Host: "shop.example.org", TLSSecretName: "shop-tls"}},
	}
	if err := c.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop-website", Namespace: ns}}
	harness.WaitFor(t, ing, timeout, "the Ingress routes the host to the Service over TLS", func() error {
		if !metav1.IsControlledBy(ing, site) {
			return errors.New("not owned by the Website")
		}
		if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "shop.example.org" ||
			len(ing.Spec.Rules[0].HTTP.Paths) != 1 || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "shop-website" {
			return fmt.Errorf("rules %+v", ing.Spec.Rules)
		}
		if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "shop-tls" {
			return fmt.Errorf("tls %+v", ing.Spec.TLS)
		}
		return nil
	})
	harness.WaitFor(t, site, timeout, "the status is written", func() error {
		if site.Status.ObservedGeneration != site.Generation || len(site.Status.Conditions) == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	if site.Status.URL != "" {
		t.Errorf("status.url %q while no web server is available", site.Status.URL)
	}

	edit(t, site, func() { site.Spec.Ingress = nil })
	harness.Eventually(t, timeout, "the Ingress is deleted", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKeyFromObject(ing), &networkingv1.Ingress{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
}

// nodePortsOf counts the node ports of every Service the Website owns.
func nodePortsOf(t *testing.T, site *extensionsv1.Website) int {
	t.Helper()
	var services corev1.ServiceList
	if err := harness.Get(t).Client.List(t.Context(), &services, client.InNamespace(site.Namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, svc := range services.Items {
		if !metav1.IsControlledBy(&svc, site) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				n++
			}
		}
	}
	return n
}

// A Website made by an earlier Kubia has a Service with the site's and kubia-sync's
// ports, two node ports: the controller removes the sync port, freeing its node port, and
// keeps the site's.
func TestUpgradedWebsiteKeepsItsSiteNodePort(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	site := applyBookWebsite(t, ns)
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(site), site); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": "kubia", website.ManagedByLabel: "kubia"}
	earlier := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns, Labels: labels, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "extensions.example.com/v1", Kind: "Website", Name: site.Name, UID: site.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": "kubia"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "sync", Port: 8081, TargetPort: intstr.FromString("sync"), Protocol: corev1.ProtocolTCP},
			}},
	}
	if err := c.Create(t.Context(), earlier); err != nil {
		t.Fatal(err)
	}
	siteNodePort := earlier.Spec.Ports[0].NodePort
	if n := nodePortsOf(t, site); n != 2 {
		t.Fatalf("the earlier Service holds %d node ports, want 2", n)
	}

	startController(t, ns)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubia-website", Namespace: ns}}
	harness.WaitFor(t, svc, timeout, "the site's Service keeps only the site's port, on its node port", func() error {
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].NodePort != siteNodePort {
			return fmt.Errorf("ports %+v, want http on node port %d", svc.Spec.Ports, siteNodePort)
		}
		return nil
	})
	if svc.UID != earlier.UID {
		t.Error("the Service was replaced, not updated")
	}
	harness.WaitFor(t, site, timeout, "the status reports the same node port", func() error {
		if site.Status.NodePort != siteNodePort {
			return fmt.Errorf("status.nodePort %d, want %d", site.Status.NodePort, siteNodePort)
		}
		return nil
	})
	if n := nodePortsOf(t, site); n != 1 {
		t.Errorf("the upgraded Website holds %d node ports, want 1", n)
	}
}
