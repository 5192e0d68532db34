package controller

import (
	"reflect"
	"testing"

	routev1 "github.com/openshift/api/route/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubia-dev/kubia/internal/router/admission"
	"github.com/kubia-dev/kubia/internal/router/haproxy"
)

// Annotations as OpenShift's router template reads them: values that do not match its
// patterns are ignored.
func TestOptionsFrom(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want haproxy.Options
	}{
		{"none", nil, haproxy.Options{}},
		{"timeouts", map[string]string{annotationTimeout: "5s", annotationTimeoutTunnel: "2h"}, haproxy.Options{Timeout: "5s", TunnelTimeout: "2h"}},
		{"bad timeout ignored", map[string]string{annotationTimeout: "0s"}, haproxy.Options{}},
		{"injected timeout ignored", map[string]string{annotationTimeout: "5s\n  http-request deny"}, haproxy.Options{}},
		{"balance", map[string]string{annotationBalance: "leastconn"}, haproxy.Options{Balance: "leastconn"}},
		{"unknown balance ignored", map[string]string{annotationBalance: "first"}, haproxy.Options{}},
		{"allow list", map[string]string{annotationAllowList: "10.0.0.0/8 192.168.1.2"}, haproxy.Options{AllowList: []string{"10.0.0.0/8", "192.168.1.2"}}},
		{"old whitelist name", map[string]string{annotationWhiteList: "10.0.0.1"}, haproxy.Options{AllowList: []string{"10.0.0.1"}}},
		{"a bad entry drops the list", map[string]string{annotationAllowList: "10.0.0.0/8 evil"}, haproxy.Options{}},
		{"cookies", map[string]string{annotationDisableCookies: "true", annotationCookieName: "session_id"}, haproxy.Options{DisableCookies: true, CookieName: "session_id"}},
		{"bad cookie name ignored", map[string]string{annotationCookieName: "a;b"}, haproxy.Options{}},
		{"rate limits", map[string]string{annotationRateLimit: "true", annotationConcurrentTCP: "10", annotationRateHTTP: "100", annotationRateTCP: "-1"},
			haproxy.Options{RateLimit: &haproxy.RateLimit{ConcurrentTCP: 10, RateHTTP: 100}}},
		{"rate limits off", map[string]string{annotationConcurrentTCP: "10"}, haproxy.Options{}},
		{"hsts", map[string]string{annotationHSTS: "max-age=31536000;includeSubDomains;preload"}, haproxy.Options{HSTS: "max-age=31536000;includeSubDomains;preload"}},
		{"hsts with a newline ignored", map[string]string{annotationHSTS: "max-age=1\nx"}, haproxy.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := optionsFrom(tt.ann); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%+v, want %+v", got, tt.want)
			}
		})
	}
}

// A route's servers are the ready addresses of its Services' EndpointSlices on the port
// spec.port names (by endpoint port name or number), or on every port.
func TestFromRouteEndpoints(t *testing.T) {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"198.18.128.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"198.18.128.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			{Addresses: []string{"198.18.128.7"}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}, {Name: ptr.To("https"), Port: ptr.To[int32](8443)}},
	}
	svcs := services{slices: map[string][]*discoveryv1.EndpointSlice{"ns/web": {slice}}}
	tests := []struct {
		name string
		port *routev1.RoutePort
		want []haproxy.Endpoint
	}{
		{"by name", &routev1.RoutePort{TargetPort: intstr.FromString("http")}, []haproxy.Endpoint{{IP: "198.18.128.5", Port: 8080}, {IP: "198.18.128.7", Port: 8080}}},
		{"by number", &routev1.RoutePort{TargetPort: intstr.FromInt32(8443)}, []haproxy.Endpoint{{IP: "198.18.128.5", Port: 8443}, {IP: "198.18.128.7", Port: 8443}}},
		{"every port", nil, []haproxy.Endpoint{{IP: "198.18.128.5", Port: 8080}, {IP: "198.18.128.7", Port: 8080}, {IP: "198.18.128.5", Port: 8443}, {IP: "198.18.128.7", Port: 8443}}},
		{"no such port", &routev1.RoutePort{TargetPort: intstr.FromString("grpc")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &routev1.Route{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
				Spec: routev1.RouteSpec{Host: "h", To: routev1.RouteTargetReference{Name: "web"}, Port: tt.port}}
			got := fromRoute(r, svcs).Services[0]
			if got.Weight != 100 || !reflect.DeepEqual(got.Endpoints, tt.want) {
				t.Errorf("weight %d endpoints %v, want 100 %v", got.Weight, got.Endpoints, tt.want)
			}
		})
	}
}

// Status entries compare as OpenShift's router compares them: all but the transition time.
func TestSameEntry(t *testing.T) {
	c := &Controller{opts: Options{Name: "default"}}
	r := &routev1.Route{Spec: routev1.RouteSpec{Host: "h"}}
	a := c.ingressEntry(r, admissionDecision(true, "", ""))
	b := c.ingressEntry(r, admissionDecision(true, "", ""))
	b.Conditions[0].LastTransitionTime = &metav1.Time{}
	if !sameEntry(a, b) {
		t.Error("entries differing in transition time only differ")
	}
	if sameEntry(a, c.ingressEntry(r, admissionDecision(false, "HostAlreadyClaimed", "m"))) {
		t.Error("an admitted and a rejected entry are the same")
	}
}

func admissionDecision(admitted bool, reason, message string) admission.Decision {
	return admission.Decision{Admitted: admitted, Reason: reason, Message: message}
}

// A route with a subdomain and no host is served at <subdomain>.<router domain>, as on
// OpenShift; a host wins over a subdomain.
func TestHostOf(t *testing.T) {
	c := &Controller{opts: Options{Domain: "apps.kubia.local"}}
	for _, tt := range []struct{ host, subdomain, want string }{
		{"", "shop", "shop.apps.kubia.local"},
		{"www.example.com", "shop", "www.example.com"},
		{"", "", ""},
	} {
		r := &routev1.Route{Spec: routev1.RouteSpec{Host: tt.host, Subdomain: tt.subdomain}}
		if got := c.hostOf(r); got != tt.want {
			t.Errorf("host %q subdomain %q: %q, want %q", tt.host, tt.subdomain, got, tt.want)
		}
	}
}
