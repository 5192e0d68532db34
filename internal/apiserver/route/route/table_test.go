package route

import (
	"context"
	"testing"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ingress(host string, status corev1.ConditionStatus, reason string) routev1.RouteIngress {
	return routev1.RouteIngress{Host: host, RouterName: "r", Conditions: []routev1.RouteIngressCondition{
		{Type: routev1.RouteAdmitted, Status: status, Reason: reason}}}
}

// The cells `oc get routes` shows, as openshift-apiserver's printer makes them.
func TestTableCells(t *testing.T) {
	h := "web-ns.apps.kubia.local"
	tests := []struct {
		name   string
		mutate func(*routev1.Route)
		want   []interface{}
	}{
		{"no router yet", func(r *routev1.Route) { r.Spec.Host = h }, []interface{}{"web", h, "", "web", "<all>", "", "None"}},
		{"pending", func(r *routev1.Route) { r.Spec.Host = h; r.Status.Ingress = []routev1.RouteIngress{} },
			[]interface{}{"web", "Pending", "", "web", "<all>", "", "None"}},
		{"admitted", func(r *routev1.Route) {
			r.Spec.Host, r.Spec.Path = h, "/api"
			r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("http")}
			r.Status.Ingress = []routev1.RouteIngress{ingress(h, corev1.ConditionTrue, "")}
		}, []interface{}{"web", h, "/api", "web", "http", "", "None"}},
		{"rejected", func(r *routev1.Route) {
			r.Spec.Host = h
			r.Status.Ingress = []routev1.RouteIngress{ingress(h, corev1.ConditionFalse, "HostAlreadyClaimed")}
		}, []interface{}{"web", "HostAlreadyClaimed", "", "web", "<all>", "", "None"}},
		{"admitted by one of two", func(r *routev1.Route) {
			r.Spec.Host = h
			r.Status.Ingress = []routev1.RouteIngress{ingress(h, corev1.ConditionTrue, ""), ingress(h, corev1.ConditionFalse, "X")}
		}, []interface{}{"web", h + " ... 1 rejected", "", "web", "<all>", "", "None"}},
		{"admitted by two", func(r *routev1.Route) {
			r.Spec.Host = h
			r.Status.Ingress = []routev1.RouteIngress{ingress(h, corev1.ConditionTrue, ""), ingress(h, corev1.ConditionTrue, "")}
		}, []interface{}{"web", h + " ... 1 more", "", "web", "<all>", "", "None"}},
		{"weighted", func(r *routev1.Route) {
			r.Spec.To.Weight = weight(3)
			r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "Service", Name: "canary", Weight: weight(1)}}
		}, []interface{}{"web", "", "", "web(75%),canary(25%)", "<all>", "", "None"}},
		{"all weights 0", func(r *routev1.Route) {
			r.Spec.To.Weight = weight(0)
			r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "Service", Name: "canary", Weight: weight(0)}}
		}, []interface{}{"web", "", "", "web(0%),canary(0%)", "<all>", "", "None"}},
		{"single backend weight 0", func(r *routev1.Route) { r.Spec.To.Weight = weight(0) },
			[]interface{}{"web", "", "", "web(0%)", "<all>", "", "None"}},
		{"edge redirect", edge(func(c *routev1.TLSConfig) {
			c.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyRedirect
		}),
			[]interface{}{"web", "", "", "web", "<all>", "edge/Redirect", "None"}},
		{"policy without termination", func(r *routev1.Route) {
			r.Spec.TLS = &routev1.TLSConfig{InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyAllow}
		}, []interface{}{"web", "", "", "web", "<all>", "default/Allow", "None"}},
		{"passthrough", passthrough(func(*routev1.TLSConfig) {}), []interface{}{"web", "", "", "web", "<all>", "passthrough", "None"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := tableConvertor{}.ConvertToTable(context.Background(), newRoute(tt.mutate), nil)
			if err != nil {
				t.Fatal(err)
			}
			cells := table.Rows[0].Cells
			for i := range tt.want {
				if cells[i] != tt.want[i] {
					t.Errorf("cell %s: %#v, want %#v", columns[i].Name, cells[i], tt.want[i])
				}
			}
		})
	}
}
