package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/test/harness"
)

// routeClient is a client of route.openshift.io/v1 acting as user ("" for the admin).
func routeClient(t *testing.T, user string) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := routev1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	cfg := harness.Get(t).Config
	if user != "" {
		cfg = harness.ConfigAs(t, user)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func webRoute(ns, name string, mutate func(*routev1.Route)) *routev1.Route {
	r := &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       routev1.RouteSpec{To: routev1.RouteTargetReference{Name: "web"}},
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

var writeRoutes = rbacv1.PolicyRule{APIGroups: []string{routev1.GroupName}, Resources: []string{"routes"},
	Verbs: []string{"create", "get", "list", "update", "delete"}}

// A Route without a host gets <name>-<namespace>.<route domain>, marked generated, with
// OpenShift's defaults; re-applying it without a host keeps the host, and only spec
// changes bump its generation.
func TestRouteHostIsGenerated(t *testing.T) {
	ns := harness.Namespace(t)
	c := routeClient(t, "")
	r := webRoute(ns, "www.web", func(r *routev1.Route) { r.Spec.TLS = &routev1.TLSConfig{Termination: "Edge"} })
	if err := c.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	want := "www-web-" + ns + ".apps.kubia.local"
	if r.Spec.Host != want || r.Annotations["openshift.io/host.generated"] != "true" {
		t.Fatalf("host %q annotations %v, want %q generated", r.Spec.Host, r.Annotations, want)
	}
	if r.Spec.To.Kind != "Service" || *r.Spec.To.Weight != 100 || r.Spec.TLS.Termination != routev1.TLSTerminationEdge ||
		r.Spec.WildcardPolicy != routev1.WildcardPolicyNone || r.Generation != 1 {
		t.Errorf("defaults: %+v generation %d", r.Spec, r.Generation)
	}
	r.Spec.Host, r.Spec.Path = "", "/api"
	if err := c.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.Spec.Host != want || r.Generation != 2 {
		t.Errorf("after an update without host: host %q generation %d", r.Spec.Host, r.Generation)
	}
	r.Labels = map[string]string{"tier": "web"}
	if err := c.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.Generation != 2 {
		t.Errorf("a label bumped the generation to %d", r.Generation)
	}
}

// Choosing a host or certificates takes create (update, on updates) on routes/custom-host,
// checked with kube-apiserver's RBAC, with OpenShift's messages.
func TestRouteCustomHostNeedsPermission(t *testing.T) {
	ns := harness.Namespace(t)
	grant(t, ns, "dev", writeRoutes)
	dev := routeClient(t, "dev")

	err := dev.Create(t.Context(), webRoute(ns, "custom", func(r *routev1.Route) { r.Spec.Host = "www.example.com" }))
	wantMsg := `Route.route.openshift.io "custom" is invalid: spec.host: Forbidden: you do not have permission to set the host field of the route`
	if err == nil || err.Error() != wantMsg {
		t.Fatalf("create with a host: %v, want %q", err, wantMsg)
	}
	err = dev.Create(t.Context(), webRoute(ns, "cert", func(r *routev1.Route) {
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, Certificate: "x", Key: "y"}
	}))
	if err == nil || !strings.Contains(err.Error(), "spec.tls: Forbidden: you do not have permission to set certificate fields on the route") {
		t.Fatalf("create with a certificate: %v", err)
	}
	generated := webRoute(ns, "generated", nil)
	if err := dev.Create(t.Context(), generated); err != nil {
		t.Fatalf("a generated host needs no permission: %v", err)
	}
	generated.Spec.Host = "other.example.com"
	if err := dev.Update(t.Context(), generated); err == nil ||
		!strings.Contains(err.Error(), `spec.host: Invalid value: "other.example.com": you do not have permission to set the host field of the route`) {
		t.Fatalf("changing the host: %v", err)
	}

	grant(t, ns, "dev", rbacv1.PolicyRule{APIGroups: []string{routev1.GroupName}, Resources: []string{"routes/custom-host"}, Verbs: []string{"create"}})
	custom := webRoute(ns, "custom", func(r *routev1.Route) { r.Spec.Host = "www.example.com" })
	harness.Eventually(t, time.Minute, "dev may set hosts", func(ctx context.Context) error {
		return dev.Create(ctx, custom)
	})
	if custom.Spec.Host != "www.example.com" || custom.Annotations["openshift.io/host.generated"] != "" {
		t.Errorf("custom host %q annotations %v", custom.Spec.Host, custom.Annotations)
	}
}

// OpenShift's validation, through kube-apiserver as kubectl meets it.
func TestRouteValidation(t *testing.T) {
	ns := harness.Namespace(t)
	c := routeClient(t, "")
	tests := []struct {
		name   string
		mutate func(*routev1.Route)
		want   string
	}{
		{"passthrough path", func(r *routev1.Route) {
			r.Spec.Path = "/api"
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
		}, `spec.path: Invalid value: "/api": passthrough termination does not support paths`},
		{"passthrough certificate", func(r *routev1.Route) {
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough, Certificate: "x"}
		}, `spec.tls.certificate: Invalid value: "redacted certificate data": passthrough termination does not support certificates`},
		{"weight", func(r *routev1.Route) { w := int32(300); r.Spec.To.Weight = &w }, "spec.to.weight: Invalid value: 300: weight must be an integer between 0 and 256"},
		{"four alternate backends", func(r *routev1.Route) {
			r.Spec.AlternateBackends = make([]routev1.RouteTargetReference, 4)
			for i := range r.Spec.AlternateBackends {
				r.Spec.AlternateBackends[i].Name = "b"
			}
		}, "spec.alternateBackends: Required value: cannot specify more than 3 alternate backends"},
		{"path", func(r *routev1.Route) { r.Spec.Path = "api" }, `spec.path: Invalid value: "api": path must begin with /`},
		{"empty target port", func(r *routev1.Route) { r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("")} }, "spec.port.targetPort: Required value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Create(t.Context(), webRoute(ns, "bad", tt.mutate))
			want := `Route.route.openshift.io "bad" is invalid: ` + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}

// `kubectl get routes` prints oc's columns, routes are in `kubectl get all`, and they can
// be selected by host as on OpenShift.
func TestRouteGetAndSelect(t *testing.T) {
	ns := harness.Namespace(t)
	c := routeClient(t, "")
	w3, w1 := int32(3), int32(1)
	canary := webRoute(ns, "canary", func(r *routev1.Route) {
		r.Spec.To.Weight = &w3
		r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Name: "web-v2", Weight: &w1}}
		r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("http")}
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect}
	})
	for _, r := range []*routev1.Route{canary, webRoute(ns, "plain", func(r *routev1.Route) { r.Spec.Path = "/api" })} {
		if err := c.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	out := harness.Kubectl(t, "get", "routes", "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantRows := [][]string{
		{"NAME", "HOST/PORT", "PATH", "SERVICES", "PORT", "TERMINATION", "WILDCARD"},
		{"canary", "canary-" + ns + ".apps.kubia.local", "web(75%),web-v2(25%)", "http", "edge/Redirect", "None"},
		{"plain", "plain-" + ns + ".apps.kubia.local", "/api", "web", "<all>", "None"},
	}
	if len(lines) != len(wantRows) {
		t.Fatalf("kubectl get routes:\n%s", out)
	}
	for i, want := range wantRows {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("row %d: %q, want %q", i, got, want)
		}
	}
	if all := harness.Kubectl(t, "get", "all", "-n", ns, "-o", "name"); !strings.Contains(all, "route.route.openshift.io/canary") {
		t.Errorf("kubectl get all:\n%s", all)
	}
	selected := harness.Kubectl(t, "get", "routes", "-n", ns, "--field-selector", "spec.host=plain-"+ns+".apps.kubia.local", "-o", "name")
	if strings.TrimSpace(selected) != "route.route.openshift.io/plain" {
		t.Errorf("selected by host: %q", selected)
	}
}

// A router writes what it made of a Route through the status subresource, which changes
// nothing else; spec updates keep it.
func TestRouteStatusIsTheRouters(t *testing.T) {
	ns := harness.Namespace(t)
	grant(t, ns, "router", rbacv1.PolicyRule{APIGroups: []string{routev1.GroupName}, Resources: []string{"routes/status"}, Verbs: []string{"update", "patch"}})
	grant(t, ns, "router", rbacv1.PolicyRule{APIGroups: []string{routev1.GroupName}, Resources: []string{"routes"}, Verbs: []string{"get"}})
	c := routeClient(t, "")
	r := webRoute(ns, "web", nil)
	if err := c.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	r.Spec.Path = "/ignored"
	r.Status.Ingress = []routev1.RouteIngress{{Host: r.Spec.Host, RouterName: "kubia", Conditions: []routev1.RouteIngressCondition{
		{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue, LastTransitionTime: &metav1.Time{Time: time.Now()}}}}}
	if err := routeClient(t, "router").Status().Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.Spec.Path != "" || r.Status.Ingress[0].WildcardPolicy != routev1.WildcardPolicyNone {
		t.Errorf("after the status update: path %q status %+v", r.Spec.Path, r.Status)
	}
	r.Spec.Path = "/api"
	if err := c.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if len(r.Status.Ingress) != 1 || r.Status.Ingress[0].RouterName != "kubia" {
		t.Errorf("a spec update changed the status: %+v", r.Status)
	}
	if out := harness.Kubectl(t, "get", "route", "web", "-n", ns, "--no-headers"); !strings.Contains(out, r.Spec.Host) {
		t.Errorf("admitted route's host column: %q", out)
	}
}
