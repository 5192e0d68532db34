package route

import (
	"testing"

	routev1 "github.com/openshift/api/route/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The defaults openshift-apiserver gives a v1 Route: a Service backend of weight 100, no
// wildcard, edge TLS unless a destination CA says re-encrypt, capitalised terminations
// normalised.
func TestDefaults(t *testing.T) {
	tests := []struct {
		name            string
		tls             *routev1.TLSConfig
		wantTermination routev1.TLSTerminationType
	}{
		{"no TLS", nil, ""},
		{"empty TLS is edge", &routev1.TLSConfig{}, routev1.TLSTerminationEdge},
		{"destination CA alone stays unset", &routev1.TLSConfig{DestinationCACertificate: "ca"}, ""},
		{"Reencrypt", &routev1.TLSConfig{Termination: "Reencrypt"}, routev1.TLSTerminationReencrypt},
		{"Passthrough", &routev1.TLSConfig{Termination: "Passthrough"}, routev1.TLSTerminationPassthrough},
		{"Edge", &routev1.TLSConfig{Termination: "Edge"}, routev1.TLSTerminationEdge},
	}
	scheme := runtime.NewScheme()
	Install(scheme)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &routev1.Route{Spec: routev1.RouteSpec{
				To: routev1.RouteTargetReference{Name: "a"}, AlternateBackends: []routev1.RouteTargetReference{{Name: "b"}}, TLS: tt.tls,
			}, Status: routev1.RouteStatus{Ingress: []routev1.RouteIngress{{}}}}
			scheme.Default(r)
			for _, b := range append([]routev1.RouteTargetReference{r.Spec.To}, r.Spec.AlternateBackends...) {
				if b.Kind != "Service" || b.Weight == nil || *b.Weight != 100 {
					t.Errorf("backend %s: kind %q weight %v", b.Name, b.Kind, b.Weight)
				}
			}
			if r.Spec.WildcardPolicy != routev1.WildcardPolicyNone || r.Status.Ingress[0].WildcardPolicy != routev1.WildcardPolicyNone {
				t.Errorf("wildcard policies %q %q", r.Spec.WildcardPolicy, r.Status.Ingress[0].WildcardPolicy)
			}
			if tt.tls != nil && r.Spec.TLS.Termination != tt.wantTermination {
				t.Errorf("termination %q, want %q", r.Spec.TLS.Termination, tt.wantTermination)
			}
		})
	}
}
