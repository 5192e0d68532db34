package apiserver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

// ingressRoutes are the Routes of ns that Ingress name controls.
func ingressRoutes(ctx context.Context, t *testing.T, ns, name string) []routev1.Route {
	t.Helper()
	var list routev1.RouteList
	if err := routeClient(t, "").List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []routev1.Route
	for _, r := range list.Items {
		if ref := metav1.GetControllerOf(&r); ref != nil && ref.Kind == "Ingress" && ref.Name == name {
			out = append(out, r)
		}
	}
	return out
}

func waitIngressRoutes(t *testing.T, ns, name string, check func([]routev1.Route) error) []routev1.Route {
	t.Helper()
	var got []routev1.Route
	harness.Eventually(t, time.Minute, "the routes of Ingress "+name, func(ctx context.Context) error {
		got = ingressRoutes(ctx, t, ns, name)
		return check(got)
	})
	return got
}

// Ingresses become Routes as OpenShift's ingress-to-route controller makes them: a route
// per host and path, named after the Ingress, owned by it, targeting the service port's
// name, TLS from the host's Secret with plain HTTP redirected; a changed path replaces its
// route; the router serves them and the Ingress's status names it; another class's
// Ingresses are left alone.
func TestIngressToRoute(t *testing.T) {
	r := startRouter(t)
	ns := harness.Namespace(t)
	harness.StartControllers(t, manager.Options{IngressToRoute: true, Namespaces: []string{ns}})
	backendService(t, ns, "web")
	c := harness.Get(t).Client
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}, Spec: networkingv1.IngressSpec{
		Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	if err := c.Create(t.Context(), ing); err != nil {
		t.Fatal(err)
	}
	routes := waitIngressRoutes(t, ns, "shop", func(rs []routev1.Route) error {
		if len(rs) != 1 {
			return fmt.Errorf("%d routes", len(rs))
		}
		return nil
	})
	got := routes[0]
	if !strings.HasPrefix(got.Name, "shop-") || len(got.Name) != len("shop-")+5 || got.Spec.Host != "shop.example.com" || got.Spec.Path != "/" ||
		got.Spec.To.Name != "web" || got.Spec.Port == nil || got.Spec.Port.TargetPort.String() != "http" || got.Spec.TLS != nil {
		t.Errorf("route %s: %+v", got.Name, got.Spec)
	}
	r.expectServed(t, "shop.example.com", "/cart", "web /cart")
	harness.WaitFor(t, ing, time.Minute, "the Ingress names the router", func() error {
		if lb := ing.Status.LoadBalancer.Ingress; len(lb) != 1 || lb[0].Hostname != "router-default.apps.kubia.local" {
			return fmt.Errorf("status %+v", ing.Status.LoadBalancer)
		}
		return nil
	})

	cert, key := selfSigned(t, "shop.example.com")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte(cert), "tls.key": []byte(key)}}
	if err := c.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(ing), ing); err != nil {
		t.Fatal(err)
	}
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}
	ing.Spec.Rules[0].HTTP.Paths[0].Path = "/shop"
	if err := c.Update(t.Context(), ing); err != nil {
		t.Fatal(err)
	}
	waitIngressRoutes(t, ns, "shop", func(rs []routev1.Route) error {
		if len(rs) != 1 || rs[0].Spec.Path != "/shop" || rs[0].Spec.TLS == nil {
			return fmt.Errorf("routes %+v", rs)
		}
		tls := rs[0].Spec.TLS
		if tls.Termination != routev1.TLSTerminationEdge || tls.InsecureEdgeTerminationPolicy != routev1.InsecureEdgeTerminationPolicyRedirect ||
			tls.Certificate != cert || tls.Key != key {
			return fmt.Errorf("TLS %+v", tls)
		}
		return nil
	})

	other := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "other-" + ns}, Spec: networkingv1.IngressClassSpec{Controller: "example.com/other"}}
	if err := c.Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), other) })
	foreign := ing.DeepCopy()
	foreign.ObjectMeta = metav1.ObjectMeta{Name: "foreign", Namespace: ns}
	foreign.Spec.IngressClassName = &other.Name
	foreign.Spec.Rules[0].Host = "foreign.example.com"
	if err := c.Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if rs := ingressRoutes(t.Context(), t, ns, "foreign"); len(rs) != 0 {
		t.Errorf("another class's Ingress got routes: %+v", rs)
	}

	if err := c.Delete(t.Context(), ing); err != nil {
		t.Fatal(err)
	}
	waitIngressRoutes(t, ns, "shop", func(rs []routev1.Route) error {
		if len(rs) != 0 {
			return fmt.Errorf("%d routes left", len(rs))
		}
		return nil
	})
}
