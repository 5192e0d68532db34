package controller

import (
	"regexp"
	"strconv"
	"strings"

	routev1 "github.com/openshift/api/route/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubia-dev/kubia/internal/router/haproxy"
)

// The route annotations the router supports, OpenShift's (docs/api/route.md lists them).
const (
	annotationTimeout        = "haproxy.router.openshift.io/timeout"
	annotationTimeoutTunnel  = "haproxy.router.openshift.io/timeout-tunnel"
	annotationBalance        = "haproxy.router.openshift.io/balance"
	annotationAllowList      = "haproxy.router.openshift.io/ip_allowlist"
	annotationWhiteList      = "haproxy.router.openshift.io/ip_whitelist"
	annotationDisableCookies = "haproxy.router.openshift.io/disable_cookies"
	annotationCookieName     = "router.openshift.io/cookie_name"
	annotationRateLimit      = "haproxy.router.openshift.io/rate-limit-connections"
	annotationConcurrentTCP  = "haproxy.router.openshift.io/rate-limit-connections.concurrent-tcp"
	annotationRateTCP        = "haproxy.router.openshift.io/rate-limit-connections.rate-tcp"
	annotationRateHTTP       = "haproxy.router.openshift.io/rate-limit-connections.rate-http"
	annotationHSTS           = "haproxy.router.openshift.io/hsts_header"
)

// The patterns OpenShift's router template accepts annotations' values with; a value that
// does not match is ignored, as there.
var (
	timeSpec       = regexp.MustCompile(`^[1-9][0-9]*(us|ms|s|m|h|d)?$`)
	balanceSpec    = regexp.MustCompile(`^(roundrobin|leastconn|source|random)$`)
	cookieSpec     = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	hstsSpec       = regexp.MustCompile(`^(?i)max-age=[0-9]+((\s*;\s*includeSubDomains)|(\s*;\s*preload))*$`)
	positiveNumber = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
)

// services are the EndpointSlices of the cluster's Services, by namespace/name.
type services struct {
	slices map[string][]*discoveryv1.EndpointSlice
}

// endpoints are the ready addresses of Service ns/name and the ports that match: by
// endpoint port name (a string) or number (an int), or every port when match is nil.
func (s services) endpoints(ns, name string, match func(discoveryv1.EndpointPort) bool) []haproxy.Endpoint {
	var out []haproxy.Endpoint
	seen := map[haproxy.Endpoint]bool{}
	for _, slice := range s.slices[ns+"/"+name] {
		for _, p := range slice.Ports {
			if p.Port == nil || (match != nil && !match(p)) {
				continue
			}
			for _, ep := range slice.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, addr := range ep.Addresses {
					e := haproxy.Endpoint{IP: addr, Port: *p.Port}
					if !seen[e] {
						seen[e] = true
						out = append(out, e)
					}
				}
			}
		}
	}
	return out
}

// targetPortMatch matches a route's spec.port.targetPort: a named endpoint port, or an
// endpoint (pod) port number.
func targetPortMatch(port *routev1.RoutePort) func(discoveryv1.EndpointPort) bool {
	if port == nil {
		return nil
	}
	t := port.TargetPort
	return func(p discoveryv1.EndpointPort) bool {
		if t.Type == intstr.String {
			return p.Name != nil && *p.Name == t.StrVal
		}
		return *p.Port == t.IntVal
	}
}

// fromRoute is the data plane's view of an admitted Route.
func fromRoute(r *routev1.Route, svcs services) *haproxy.Route {
	out := &haproxy.Route{Namespace: r.Namespace, Name: r.Name, Host: r.Spec.Host, Path: r.Spec.Path,
		Wildcard: r.Spec.WildcardPolicy == routev1.WildcardPolicySubdomain, InsecurePolicy: haproxy.InsecureNone,
		Options: optionsFrom(r.Annotations), Generation: r.Generation}
	if tls := r.Spec.TLS; tls != nil {
		out.Termination = haproxy.Termination(tls.Termination)
		if tls.InsecureEdgeTerminationPolicy != "" {
			out.InsecurePolicy = haproxy.InsecurePolicy(tls.InsecureEdgeTerminationPolicy)
		}
		if tls.Certificate != "" {
			out.Certificate = []byte(joinPEM(tls.Certificate, tls.Key, tls.CACertificate))
		}
		out.DestinationCA = []byte(tls.DestinationCACertificate)
		if r.Spec.HTTPHeaders != nil {
			out.Options.RequestHeaders = headerActions(r.Spec.HTTPHeaders.Actions.Request)
			out.Options.ResponseHeaders = headerActions(r.Spec.HTTPHeaders.Actions.Response)
		}
	}
	match := targetPortMatch(r.Spec.Port)
	for _, b := range append([]routev1.RouteTargetReference{r.Spec.To}, r.Spec.AlternateBackends...) {
		w := int32(100)
		if b.Weight != nil {
			w = *b.Weight
		}
		out.Services = append(out.Services, haproxy.Service{Name: b.Name, Weight: w, Endpoints: svcs.endpoints(r.Namespace, b.Name, match)})
	}
	return out
}

// withCertificate is r serving the certificate and key its externalCertificate secret
// holds, as if they were in spec.tls (which the API keeps empty for such routes).
func withCertificate(r *routev1.Route, cert, key string) *routev1.Route {
	r = r.DeepCopy()
	r.Spec.TLS.Certificate, r.Spec.TLS.Key = cert, key
	return r
}

// joinPEM is a route's certificate, key and CA chain as one PEM file, as HAProxy reads it.
func joinPEM(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			b.WriteString(p + "\n")
		}
	}
	return b.String()
}

func headerActions(hs []routev1.RouteHTTPHeader) []haproxy.HeaderAction {
	out := make([]haproxy.HeaderAction, 0, len(hs))
	for _, h := range hs {
		a := haproxy.HeaderAction{Name: h.Name, Delete: h.Action.Type == routev1.Delete}
		if h.Action.Set != nil {
			a.Value = h.Action.Set.Value
		}
		out = append(out, a)
	}
	return out
}

// optionsFrom reads the supported annotations, ignoring values OpenShift's router would
// ignore.
func optionsFrom(ann map[string]string) haproxy.Options {
	var o haproxy.Options
	if v := ann[annotationTimeout]; timeSpec.MatchString(v) {
		o.Timeout = v
	}
	if v := ann[annotationTimeoutTunnel]; timeSpec.MatchString(v) {
		o.TunnelTimeout = v
	}
	if v := ann[annotationBalance]; balanceSpec.MatchString(v) {
		o.Balance = v
	}
	list := ann[annotationAllowList]
	if list == "" {
		list = ann[annotationWhiteList]
	}
	if fields := strings.Fields(list); len(fields) > 0 && allAddresses(fields) {
		o.AllowList = fields
	}
	o.DisableCookies = isTrue(ann[annotationDisableCookies])
	if v := ann[annotationCookieName]; cookieSpec.MatchString(v) && len(v) <= 64 {
		o.CookieName = v
	}
	if v := ann[annotationHSTS]; hstsSpec.MatchString(v) {
		o.HSTS = v
	}
	if isTrue(ann[annotationRateLimit]) {
		o.RateLimit = &haproxy.RateLimit{ConcurrentTCP: number(ann[annotationConcurrentTCP]),
			RateTCP: number(ann[annotationRateTCP]), RateHTTP: number(ann[annotationRateHTTP])}
	}
	return o
}

// allAddresses tells whether every entry of an allow list is an address or network: a
// list with one bad entry is ignored whole (allowing every client, as OpenShift does).
func allAddresses(entries []string) bool {
	for _, e := range entries {
		if !haproxy.ValidAddress(e) {
			return false
		}
	}
	return true
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

func number(v string) int {
	if !positiveNumber.MatchString(v) {
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}
