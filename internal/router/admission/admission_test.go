package admission

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func route(ns, name string, age int, host, path string) *Route {
	return &Route{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name), Created: t0.Add(time.Duration(age) * time.Second), Host: host, Path: path}
}

// OpenShift's host ownership, case by case (its unique_host tests' situations).
func TestAdmit(t *testing.T) {
	passthrough := func(r *Route) *Route { r.TLS, r.Passthrough = true, true; return r }
	edge := func(r *Route) *Route { r.TLS = true; return r }
	tests := []struct {
		name   string
		routes []*Route
		want   map[string]Decision
	}{
		{"older namespace owns the host", []*Route{route("b", "web", 2, "h.test", ""), route("a", "web", 1, "h.test", "")}, map[string]Decision{
			"a/web": {Admitted: true},
			"b/web": {Reason: ReasonHostAlreadyClaimed, Message: "a route in another namespace holds h.test and is older than web"},
		}},
		{"whatever the path", []*Route{route("a", "web", 1, "h.test", "/a"), route("b", "api", 2, "h.test", "/b")}, map[string]Decision{
			"a/web": {Admitted: true},
			"b/api": {Reason: ReasonHostAlreadyClaimed, Message: "a route in another namespace holds h.test and is older than api"},
		}},
		{"paths share a host in one namespace", []*Route{route("a", "web", 1, "h.test", ""), route("a", "api", 2, "h.test", "/api")}, map[string]Decision{
			"a/web": {Admitted: true}, "a/api": {Admitted: true},
		}},
		{"same path: older wins", []*Route{route("a", "new", 5, "h.test", "/x"), route("a", "old", 1, "h.test", "/x")}, map[string]Decision{
			"a/old": {Admitted: true},
			"a/new": {Reason: ReasonHostAlreadyClaimed, Message: "route old already exposes h.test and is older"},
		}},
		{"same second: UID decides", []*Route{route("a", "y", 0, "h.test", ""), route("a", "x", 0, "h.test", "")}, map[string]Decision{
			"a/x": {Admitted: true},
			"a/y": {Reason: ReasonHostAlreadyClaimed, Message: "route x already exposes h.test and is older"},
		}},
		{"passthrough and edge clash", []*Route{passthrough(route("a", "p", 1, "h.test", "")), edge(route("a", "e", 2, "h.test", "/e"))}, map[string]Decision{
			"a/p": {Admitted: true},
			"a/e": {Reason: ReasonHostAlreadyClaimed, Message: "route p already exposes h.test and is older"},
		}},
		{"passthrough and plain coexist", []*Route{passthrough(route("a", "p", 1, "h.test", "")), route("a", "plain", 2, "h.test", "/x")}, map[string]Decision{
			"a/p": {Admitted: true}, "a/plain": {Admitted: true},
		}},
		{"no host", []*Route{route("a", "web", 1, "", "")}, map[string]Decision{
			"a/web": {Reason: ReasonNoHostValue, Message: "no host value was defined for the route"},
		}},
		{"invalid host", []*Route{route("a", "web", 1, "Web.test", "")}, map[string]Decision{
			"a/web": {Reason: ReasonInvalidHost, Message: `host name validation errors: spec.host: Invalid value: "Web.test": host must conform to DNS 952 subdomain conventions, spec.host: Invalid value: "Web.test": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		}},
		{"wildcard refused", []*Route{{Namespace: "a", Name: "w", Host: "www.h.test", Wildcard: true}}, map[string]Decision{
			"a/w": {Reason: ReasonRouteNotAdmitted, Message: "wildcard routes are not allowed"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Admit(tt.routes, Options{})
			for key, want := range tt.want {
				if got[key] != want {
					t.Errorf("%s: %+v, want %+v", key, got[key], want)
				}
			}
		})
	}
}

// Deleting a host's owner hands the host to the next oldest route, in its namespace.
func TestDeletingTheOwnerAdmitsTheNextOldest(t *testing.T) {
	a, b := route("a", "web", 1, "h.test", ""), route("b", "web", 2, "h.test", "/other")
	if d := Admit([]*Route{a, b}, Options{})["b/web"]; d.Admitted {
		t.Fatal("b admitted while a holds the host")
	}
	if d := Admit([]*Route{b}, Options{})["b/web"]; !d.Admitted {
		t.Errorf("b not admitted once a is gone: %+v", d)
	}
}

// With wildcard routes allowed, wildcards claim domains across namespaces (OpenShift's
// HostAdmitter tests' situations, rewritten).
func TestAdmitWildcards(t *testing.T) {
	wild := func(r *Route) *Route { r.Wildcard = true; return r }
	owner := wild(route("owner", "first", 0, "owner.namespace.test", ""))
	tests := []struct {
		name   string
		routes []*Route
		want   map[string]Decision
	}{
		{"another namespace's host under the wildcard", []*Route{owner, route("notowner", "web", 10, "www.namespace.test", "")}, map[string]Decision{
			"owner/first":  {Admitted: true},
			"notowner/web": {Reason: ReasonHostAlreadyClaimed, Message: "a route in another namespace holds host www.namespace.test"},
		}},
		{"another namespace's wildcard of the domain", []*Route{owner, wild(route("notowner", "web", 10, "www.namespace.test", ""))}, map[string]Decision{
			"notowner/web": {Reason: ReasonHostAlreadyClaimed, Message: "a route in another namespace holds host www.namespace.test"},
		}},
		{"an exact host beside the wildcard in its namespace", []*Route{owner, route("owner", "api", 10, "api.namespace.test", "")}, map[string]Decision{
			"owner/first": {Admitted: true}, "owner/api": {Admitted: true},
		}},
		{"a second wildcard of the domain on the same path", []*Route{owner, wild(route("owner", "wild", 10, "wild.namespace.test", ""))}, map[string]Decision{
			"owner/wild": {Reason: ReasonHostAlreadyClaimed, Message: "wildcard route owner/first has host *.namespace.test, blocking wild.namespace.test"},
		}},
		{"a second wildcard of the domain on another path", []*Route{owner, wild(route("owner", "wild", 10, "wild.namespace.test", "/p"))}, map[string]Decision{
			"owner/first": {Admitted: true}, "owner/wild": {Admitted: true},
		}},
		{"an older exact host blocks another namespace's wildcard", []*Route{route("b", "foo", 0, "foo.example.test", ""), wild(route("c", "www", 10, "www.example.test", ""))}, map[string]Decision{
			"b/foo": {Admitted: true},
			"c/www": {Reason: ReasonHostAlreadyClaimed, Message: "a route in another namespace holds host www.example.test"},
		}},
		{"but not its own namespace's", []*Route{route("b", "foo", 0, "foo.example.test", ""), wild(route("b", "www", 10, "www.example.test", ""))}, map[string]Decision{
			"b/foo": {Admitted: true}, "b/www": {Admitted: true},
		}},
		{"an exact route of the same host and path in its namespace", []*Route{route("b", "old", 0, "h.example.test", "/x"), route("b", "new", 10, "h.example.test", "/x")}, map[string]Decision{
			"b/new": {Reason: ReasonHostAlreadyClaimed, Message: "route b/old has host h.example.test"},
		}},
		{"single-label domains", []*Route{route("ns1", "tld", 0, "ns1.org", ""), wild(route("wild", "tld", 0, "wild.play", ""))}, map[string]Decision{
			"ns1/tld": {Admitted: true}, "wild/tld": {Admitted: true},
		}},
		{"the wildcard's own host, exact, clashes by path after", []*Route{owner, route("owner", "same", 10, "owner.namespace.test", "")}, map[string]Decision{
			"owner/same": {Reason: ReasonHostAlreadyClaimed, Message: "route first already exposes owner.namespace.test and is older"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Admit(tt.routes, Options{AllowWildcards: true})
			for key, want := range tt.want {
				if got[key] != want {
					t.Errorf("%s: %+v, want %+v", key, got[key], want)
				}
			}
		})
	}
}

// Deleting a wildcard's owner gives its domain to the next oldest claim.
func TestDeletingTheWildcardOwnerAdmitsTheNext(t *testing.T) {
	a := &Route{Namespace: "a", Name: "w", UID: "a", Created: t0, Host: "www.example.test", Wildcard: true}
	b := route("b", "foo", 10, "foo.example.test", "")
	opts := Options{AllowWildcards: true}
	if d := Admit([]*Route{a, b}, opts)["b/foo"]; d.Admitted {
		t.Fatal("b admitted under a's wildcard")
	}
	if d := Admit([]*Route{b}, opts)["b/foo"]; !d.Admitted {
		t.Errorf("b not admitted once a is gone: %+v", d)
	}
}
