package route

import (
	"context"
	"strings"
	"testing"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/openshift/library-go/pkg/route/hostassignment"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/client-go/kubernetes/fake"
)

const kubiaRouter = "system:serviceaccount:kubia-system:kubia-router"

// allowList is an authorizer that allows what its rules name: "user verb resource/subresource".
type allowList map[string]bool

func (a allowList) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	res := attrs.GetResource()
	if attrs.GetSubresource() != "" {
		res += "/" + attrs.GetSubresource()
	}
	if a[attrs.GetUser().GetName()+" "+attrs.GetVerb()+" "+res] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "not in the list", nil
}

// customHostUser may choose hosts and certificates; plainUser may not.
var rules = allowList{
	"custom create routes/custom-host": true, "custom update routes/custom-host": true,
	kubiaRouter + " get secrets": true, kubiaRouter + " list secrets": true, kubiaRouter + " watch secrets": true,
}

func testStrategy(t *testing.T, objects ...runtime.Object) strategy {
	t.Helper()
	hosts, err := hostassignment.NewSimpleAllocationPlugin("apps.kubia.local")
	if err != nil {
		t.Fatal(err)
	}
	return strategy{
		ObjectTyper: runtime.NewScheme(), NameGenerator: names.SimpleNameGenerator, hosts: hosts,
		sar:     authorizerSAR{authz: authorizer.AuthorizerFunc(rules.Authorize), routerServiceAccount: kubiaRouter},
		secrets: fake.NewClientset(objects...).CoreV1(),
	}
}

func requestBy(name string) context.Context {
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")
	return genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: name})
}

// newRoute is a valid Route as the API server sees it after defaulting.
func newRoute(mutate func(*routev1.Route)) *routev1.Route {
	weight := int32(100)
	r := &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: routev1.RouteSpec{
			To:             routev1.RouteTargetReference{Kind: "Service", Name: "web", Weight: &weight},
			WildcardPolicy: routev1.WildcardPolicyNone,
		},
	}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func weight(w int32) *int32 { return &w }

func edge(mutate func(*routev1.TLSConfig)) func(*routev1.Route) {
	return func(r *routev1.Route) {
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge}
		mutate(r.Spec.TLS)
	}
}

func passthrough(mutate func(*routev1.TLSConfig)) func(*routev1.Route) {
	return func(r *routev1.Route) {
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
		mutate(r.Spec.TLS)
	}
}

// Every rule of OpenShift's route validation, with its field and message, as a user
// allowed custom hosts meets them on create.
func TestValidateCreate(t *testing.T) {
	tlsSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "ns"}, Type: corev1.SecretTypeTLS}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "ns"}, Type: corev1.SecretTypeOpaque}
	set := routev1.RouteHTTPHeaderActionUnion{Type: routev1.Set, Set: &routev1.RouteSetHTTPHeader{Value: "v"}}
	tests := []struct {
		name   string
		mutate func(*routev1.Route)
		field  string // "" when valid
		msg    string
	}{
		{"minimal", nil, "", ""},
		{"host", func(r *routev1.Route) { r.Spec.Host = "www.example.com" }, "", ""},
		{"host not DNS", func(r *routev1.Route) { r.Spec.Host = "Www.example.com" }, "spec.host", "host must conform to DNS 952 subdomain conventions"},
		{"host label over 63", func(r *routev1.Route) { r.Spec.Host = strings.Repeat("a", 64) + ".example.com" }, "spec.host", "must be no more than 63 characters"},
		{"long label allowed by annotation", func(r *routev1.Route) {
			r.Spec.Host = strings.Repeat("a", 64) + ".example.com"
			r.Annotations = map[string]string{routev1.AllowNonDNSCompliantHostAnnotation: "true"}
		}, "", ""},
		{"subdomain", func(r *routev1.Route) { r.Spec.Subdomain = "web" }, "", ""},
		{"subdomain label", func(r *routev1.Route) { r.Spec.Subdomain = "Web" }, "spec.subdomain", "a lowercase RFC 1123 label"},
		{"wildcard without host", func(r *routev1.Route) { r.Spec.WildcardPolicy = routev1.WildcardPolicySubdomain }, "spec.wildcardPolicy", "host name not specified for wildcard policy"},
		{"wildcard unknown", func(r *routev1.Route) { r.Spec.WildcardPolicy = "All" }, "spec.wildcardPolicy", `supported values: "None", "Subdomain"`},
		{"path without slash", func(r *routev1.Route) { r.Spec.Path = "api" }, "spec.path", "path must begin with /"},
		{"path with space", func(r *routev1.Route) { r.Spec.Path = "/a b" }, "spec.path", "cannot contain # or spaces"},
		{"path with hash", func(r *routev1.Route) { r.Spec.Path = "/a#b" }, "spec.path", "cannot contain # or spaces"},
		{"passthrough path", func(r *routev1.Route) {
			r.Spec.Path = "/api"
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
		}, "spec.path", "passthrough termination does not support paths"},
		{"no service name", func(r *routev1.Route) { r.Spec.To.Name = "" }, "spec.to.name", "Required value"},
		{"not a service", func(r *routev1.Route) { r.Spec.To.Kind = "Pod" }, "spec.to.kind", "must reference a Service"},
		{"weight over 256", func(r *routev1.Route) { r.Spec.To.Weight = weight(257) }, "spec.to.weight", "weight must be an integer between 0 and 256"},
		{"negative weight", func(r *routev1.Route) { r.Spec.To.Weight = weight(-1) }, "spec.to.weight", "weight must be an integer between 0 and 256"},
		{"weight 0", func(r *routev1.Route) { r.Spec.To.Weight = weight(0) }, "", ""},
		{"four alternate backends", func(r *routev1.Route) {
			for i := 0; i < 4; i++ {
				r.Spec.AlternateBackends = append(r.Spec.AlternateBackends, routev1.RouteTargetReference{Kind: "Service", Name: "b", Weight: weight(1)})
			}
		}, "spec.alternateBackends", "cannot specify more than 3 alternate backends"},
		{"alternate backend without name", func(r *routev1.Route) {
			r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "Service"}}
		}, "spec.alternateBackends[0].name", "Required value"},
		{"alternate backend not a service", func(r *routev1.Route) {
			r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "ConfigMap", Name: "b"}}
		}, "spec.alternateBackends[0].kind", "must reference a Service"},
		{"alternate backend weight", func(r *routev1.Route) {
			r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "Service", Name: "b", Weight: weight(300)}}
		}, "spec.alternateBackends[0].weight", "weight must be an integer between 0 and 256"},
		{"port 0", func(r *routev1.Route) { r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromInt32(0)} }, "spec.port.targetPort", "Required value"},
		{"port empty name", func(r *routev1.Route) { r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("")} }, "spec.port.targetPort", "Required value"},
		{"named port", func(r *routev1.Route) { r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromString("http")} }, "", ""},
		{"unknown termination", func(r *routev1.Route) { r.Spec.TLS = &routev1.TLSConfig{Termination: "tunnel"} }, "spec.tls.termination", `supported values: "edge", "passthrough", "reencrypt"`},
		{"passthrough certificate", passthrough(func(c *routev1.TLSConfig) { c.Certificate = "x" }), "spec.tls.certificate", "passthrough termination does not support certificates"},
		{"passthrough key", passthrough(func(c *routev1.TLSConfig) { c.Key = "x" }), "spec.tls.key", "passthrough termination does not support certificates"},
		{"passthrough CA", passthrough(func(c *routev1.TLSConfig) { c.CACertificate = "x" }), "spec.tls.caCertificate", "passthrough termination does not support certificates"},
		{"passthrough destination CA", passthrough(func(c *routev1.TLSConfig) { c.DestinationCACertificate = "x" }), "spec.tls.destinationCACertificate", "passthrough termination does not support certificates"},
		{"passthrough Allow", passthrough(func(c *routev1.TLSConfig) {
			c.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyAllow
		}),
			"spec.tls.insecureEdgeTerminationPolicy", "acceptable values are None, Redirect, or empty"},
		{"passthrough Redirect", passthrough(func(c *routev1.TLSConfig) {
			c.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyRedirect
		}), "", ""},
		{"edge destination CA", edge(func(c *routev1.TLSConfig) { c.DestinationCACertificate = "x" }), "spec.tls.destinationCACertificate", "edge termination does not support destination certificates"},
		{"edge unknown insecure policy", edge(func(c *routev1.TLSConfig) { c.InsecureEdgeTerminationPolicy = "Always" }),
			"spec.tls.insecureEdgeTerminationPolicy", "acceptable values are None, Allow, Redirect, or empty"},
		{"edge Allow", edge(func(c *routev1.TLSConfig) {
			c.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyAllow
		}), "", ""},
		{"reencrypt destination CA", func(r *routev1.Route) {
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt, DestinationCACertificate: "x"}
		}, "", ""},
		{"external certificate", edge(func(c *routev1.TLSConfig) { c.ExternalCertificate = &routev1.LocalObjectReference{Name: "tls"} }), "", ""},
		{"external and inline certificate", edge(func(c *routev1.TLSConfig) {
			c.Certificate, c.ExternalCertificate = "x", &routev1.LocalObjectReference{Name: "tls"}
		}), "spec.tls.externalCertificate", "cannot specify both tls.certificate and tls.externalCertificate"},
		{"external certificate missing", edge(func(c *routev1.TLSConfig) { c.ExternalCertificate = &routev1.LocalObjectReference{Name: "none"} }),
			"spec.tls.externalCertificate", `Not found: "secrets \"none\" not found"`},
		{"external certificate not TLS", edge(func(c *routev1.TLSConfig) { c.ExternalCertificate = &routev1.LocalObjectReference{Name: "opaque"} }),
			"spec.tls.externalCertificate", `secret of type "kubernetes.io/tls" required`},
		{"headers on passthrough", func(r *routev1.Route) {
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Response: []routev1.RouteHTTPHeader{{Name: "X-A", Action: set}}}}
		}, "spec.tls.termination", "only edge and re-encrypt routes are supported for providing customized headers."},
		{"forbidden header", func(r *routev1.Route) {
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Request: []routev1.RouteHTTPHeader{{Name: "Cookie", Action: set}}}}
		}, "spec.httpHeaders.actions.request[0].name", "the following headers may not be modified using this API: strict-transport-security, proxy, cookie, set-cookie"},
		{"header name with a newline", func(r *routev1.Route) {
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Request: []routev1.RouteHTTPHeader{{Name: "X-A\nhttp-request deny", Action: set}}}}
		}, "spec.httpHeaders.actions.request[0].name", "name must be a valid HTTP header name as defined in RFC 2616 section 4.2"},
		{"header value with a newline", func(r *routev1.Route) {
			v := routev1.RouteHTTPHeaderActionUnion{Type: routev1.Set, Set: &routev1.RouteSetHTTPHeader{Value: "a\n  http-request deny"}}
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Response: []routev1.RouteHTTPHeader{{Name: "X-A", Action: v}}}}
		}, "spec.httpHeaders.actions.response[0].action.set.value", "Either header value provided is not in correct format"},
		{"duplicate header", func(r *routev1.Route) {
			h := routev1.RouteHTTPHeader{Name: "X-A", Action: set}
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Request: []routev1.RouteHTTPHeader{h, h}}}
		}, "spec.httpHeaders.actions.request[1].name", "Duplicate value"},
		{"set without value", func(r *routev1.Route) {
			h := routev1.RouteHTTPHeader{Name: "X-A", Action: routev1.RouteHTTPHeaderActionUnion{Type: routev1.Set}}
			r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{Request: []routev1.RouteHTTPHeader{h}}}
		}, "spec.httpHeaders.actions.request[0].action.set", "set is required when type is Set, and forbidden otherwise"},
		{"bad name", func(r *routev1.Route) { r.Name = "Web" }, "metadata.name", "a lowercase RFC 1123 subdomain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testStrategy(t, tlsSecret, opaque)
			errs := s.Validate(requestBy("custom"), newRoute(tt.mutate))
			expectError(t, errs, tt.field, tt.msg)
		})
	}
}

func expectError(t *testing.T, errs field.ErrorList, wantField, wantMsg string) {
	t.Helper()
	if wantField == "" {
		if len(errs) > 0 {
			t.Fatalf("want no errors, got %v", errs)
		}
		return
	}
	for _, e := range errs {
		if e.Field == wantField && strings.Contains(e.Error(), wantMsg) {
			return
		}
	}
	t.Fatalf("want an error on %s with %q, got %v", wantField, wantMsg, errs)
}

// Who may choose a host or certificates, with OpenShift's messages, and what a Route
// without a host gets.
func TestHostAssignment(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		mutate   func(*routev1.Route)
		field    string
		msg      string
		wantHost string
	}{
		{"generated", "plain", nil, "", "", "web-ns.apps.kubia.local"},
		{"dots replaced", "plain", func(r *routev1.Route) { r.Name = "www.web" }, "", "", "www-web-ns.apps.kubia.local"},
		{"subdomain: no host", "plain", func(r *routev1.Route) { r.Spec.Subdomain = "web" }, "", "", ""},
		{"custom host allowed", "custom", func(r *routev1.Route) { r.Spec.Host = "www.example.com" }, "", "", "www.example.com"},
		{"custom host forbidden", "plain", func(r *routev1.Route) { r.Spec.Host = "www.example.com" },
			"spec.host", "you do not have permission to set the host field of the route", ""},
		{"certificate forbidden", "plain", edge(func(c *routev1.TLSConfig) { c.Certificate = "x" }),
			"spec.tls", "you do not have permission to set certificate fields on the route", ""},
		{"edge without certificates allowed", "plain", edge(func(*routev1.TLSConfig) {}), "", "", "web-ns.apps.kubia.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRoute(tt.mutate)
			errs := testStrategy(t).Validate(requestBy(tt.user), r)
			expectError(t, errs, tt.field, tt.msg)
			if tt.field != "" {
				return
			}
			if r.Spec.Host != tt.wantHost {
				t.Errorf("host %q, want %q", r.Spec.Host, tt.wantHost)
			}
			generated := r.Annotations[hostassignment.HostGeneratedAnnotationKey] == "true"
			if wantGenerated := tt.mutate == nil || tt.name == "dots replaced" || tt.name == "edge without certificates allowed"; generated != wantGenerated {
				t.Errorf("annotation %s: %v, want %v", hostassignment.HostGeneratedAnnotationKey, generated, wantGenerated)
			}
		})
	}
}

// Updates: an empty host keeps the stored one, changing the host needs update on
// routes/custom-host, the wildcard policy is immutable, and only spec changes bump the
// generation.
func TestUpdate(t *testing.T) {
	old := newRoute(func(r *routev1.Route) {
		r.Spec.Host = "web-ns.apps.kubia.local"
		r.Generation = 1
		r.ResourceVersion = "1"
	})
	tests := []struct {
		name     string
		user     string
		mutate   func(*routev1.Route)
		field    string
		msg      string
		wantHost string
		wantGen  int64
	}{
		{"re-applied without host", "plain", func(r *routev1.Route) { r.Spec.Host = "" }, "", "", "web-ns.apps.kubia.local", 1},
		{"label only", "plain", func(r *routev1.Route) { r.Labels = map[string]string{"a": "b"} }, "", "", "web-ns.apps.kubia.local", 1},
		{"path", "plain", func(r *routev1.Route) { r.Spec.Path = "/api" }, "", "", "web-ns.apps.kubia.local", 2},
		{"host change forbidden", "plain", func(r *routev1.Route) { r.Spec.Host = "www.example.com" },
			"spec.host", "you do not have permission to set the host field of the route", "", 0},
		{"host change allowed", "custom", func(r *routev1.Route) { r.Spec.Host = "www.example.com" }, "", "", "www.example.com", 2},
		{"subdomain change forbidden", "plain", func(r *routev1.Route) { r.Spec.Subdomain = "web" },
			"spec.subdomain", "you do not have permission to set the subdomain field of the route", "", 0},
		{"certificate added forbidden", "plain", edge(func(c *routev1.TLSConfig) { c.Key = "k" }),
			"spec.tls", "you do not have permission to set certificate fields on the route", "", 0},
		{"wildcard immutable", "custom", func(r *routev1.Route) { r.Spec.WildcardPolicy = routev1.WildcardPolicySubdomain },
			"spec.wildcardPolicy", "field is immutable", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testStrategy(t)
			r := old.DeepCopy()
			tt.mutate(r)
			r.Status.Ingress = nil
			s.PrepareForUpdate(requestBy(tt.user), r, old)
			errs := s.ValidateUpdate(requestBy(tt.user), r, old)
			expectError(t, errs, tt.field, tt.msg)
			if tt.field != "" {
				return
			}
			if r.Spec.Host != tt.wantHost || r.Generation != tt.wantGen {
				t.Errorf("host %q generation %d, want %q %d", r.Spec.Host, r.Generation, tt.wantHost, tt.wantGen)
			}
		})
	}
}

// Status is the routers': dropped on create, kept through spec updates, and the only
// thing a status update changes.
func TestStatusIsTheRouters(t *testing.T) {
	s := testStrategy(t)
	admitted := routev1.RouteStatus{Ingress: []routev1.RouteIngress{{Host: "h", RouterName: "kubia"}}}
	created := newRoute(func(r *routev1.Route) { r.Status = admitted })
	s.PrepareForCreate(requestBy("plain"), created)
	if len(created.Status.Ingress) != 0 || created.Generation != 1 {
		t.Errorf("create kept status %v / generation %d", created.Status, created.Generation)
	}
	stored := newRoute(func(r *routev1.Route) { r.Status = admitted })
	update := newRoute(nil)
	s.PrepareForUpdate(requestBy("plain"), update, stored)
	if len(update.Status.Ingress) != 1 {
		t.Errorf("spec update lost the status")
	}
	statusUpdate := newRoute(func(r *routev1.Route) { r.Spec.Path = "/sneaky"; r.Status = routev1.RouteStatus{} })
	statusStrategy{s}.PrepareForUpdate(requestBy("router"), statusUpdate, stored)
	if statusUpdate.Spec.Path != "" || len(statusUpdate.Status.Ingress) != 0 {
		t.Errorf("status update: spec %v status %v", statusUpdate.Spec, statusUpdate.Status)
	}
}

// External certificates are checked against Kubia's router, not OpenShift's.
func TestExternalCertificateAsksAboutKubiasRouter(t *testing.T) {
	tlsSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "ns"}, Type: corev1.SecretTypeTLS}
	s := testStrategy(t, tlsSecret)
	s.sar = authorizerSAR{authz: authorizer.AuthorizerFunc(rules.Authorize), routerServiceAccount: "system:serviceaccount:elsewhere:router"}
	r := newRoute(edge(func(c *routev1.TLSConfig) { c.ExternalCertificate = &routev1.LocalObjectReference{Name: "tls"} }))
	expectError(t, s.Validate(requestBy("custom"), r), "spec.tls.externalCertificate", "router serviceaccount does not have permission to get this secret")
}
