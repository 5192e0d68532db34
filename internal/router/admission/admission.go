// Package admission decides which routes a router serves, as OpenShift's router does
// (its HostAdmitter and UniqueHost plugins): a route needs a valid host; with wildcard
// routes allowed, wildcards claim domains (wildcard.go); the oldest route
// of a host (by creation time, then UID) gives that host to its namespace, whose routes
// share it by path while routes of other namespaces are not admitted, whatever their
// path; the oldest of two routes with the same host and path wins. Deleting a host's
// owner admits the next oldest, since the decisions are computed again from all routes.
package admission

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	kvalidation "k8s.io/apimachinery/pkg/util/validation"
)

// Reasons of Admitted=False, OpenShift's.
const (
	ReasonHostAlreadyClaimed = "HostAlreadyClaimed"
	ReasonNoHostValue        = "NoHostValue"
	ReasonInvalidHost        = "InvalidHost"
	ReasonRouteNotAdmitted   = "RouteNotAdmitted"
)

// Route is what admission looks at in a route.
type Route struct {
	Namespace, Name string
	UID             types.UID
	Created         time.Time
	Host, Path      string
	// Wildcard is wildcardPolicy Subdomain.
	Wildcard bool
	// TLS is set for routes with spec.tls; Passthrough for passthrough ones.
	TLS, Passthrough bool
}

// Key is namespace/name.
func (r *Route) Key() string { return r.Namespace + "/" + r.Name }

// Decision is whether a route is admitted and, if not, why.
type Decision struct {
	Admitted        bool
	Reason, Message string
}

// Options are the router's admission settings.
type Options struct {
	// AllowWildcards admits wildcardPolicy Subdomain routes; OpenShift's router refuses
	// them by default, and so does Kubia's.
	AllowWildcards bool
}

// Admit decides for every route, by Key.
func Admit(routes []*Route, opts Options) map[string]Decision {
	out := make(map[string]Decision, len(routes))
	var valid []*Route
	for _, r := range routes {
		if d, ok := precheck(r, opts); !ok {
			out[r.Key()] = d
			continue
		}
		valid = append(valid, r)
	}
	if opts.AllowWildcards {
		valid = admitWildcards(valid, out)
	}
	byHost := map[string][]*Route{}
	for _, r := range valid {
		byHost[r.Host] = append(byHost[r.Host], r)
	}
	for host, rs := range byHost {
		sort.Slice(rs, func(i, j int) bool { return older(rs[i], rs[j]) })
		admitHost(host, rs, out)
	}
	return out
}

// precheck refuses routes without a (valid) host and wildcard routes when not allowed.
func precheck(r *Route, opts Options) (Decision, bool) {
	switch {
	case r.Host == "":
		return Decision{Reason: ReasonNoHostValue, Message: "no host value was defined for the route"}, false
	case r.Wildcard && !opts.AllowWildcards:
		return Decision{Reason: ReasonRouteNotAdmitted, Message: "wildcard routes are not allowed"}, false
	}
	if msgs := hostErrors(r.Host); len(msgs) > 0 {
		return Decision{Reason: ReasonInvalidHost, Message: "host name validation errors: " + strings.Join(msgs, ", ")}, false
	}
	return Decision{}, true
}

func hostErrors(host string) []string {
	var msgs []string
	if len(kvalidation.IsDNS1123Subdomain(host)) > 0 {
		msgs = append(msgs, fmt.Sprintf("spec.host: Invalid value: %q: host must conform to DNS 952 subdomain conventions", host))
	}
	for _, label := range strings.Split(host, ".") {
		for _, e := range kvalidation.IsDNS1123Label(label) {
			msgs = append(msgs, fmt.Sprintf("spec.host: Invalid value: %q: %s", host, e))
		}
	}
	return msgs
}

// older is OpenShift's RouteLessThan: creation time (in seconds, as stored), then UID.
func older(a, b *Route) bool {
	ta, tb := a.Created.Truncate(time.Second), b.Created.Truncate(time.Second)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.UID < b.UID
}

// admitHost decides for the routes of one host, oldest first: the oldest's namespace owns
// the host; its routes are admitted unless they clash with an admitted one (the same path,
// or TLS on both with either passthrough, since SNI cannot tell them apart).
func admitHost(host string, rs []*Route, out map[string]Decision) {
	owner := rs[0].Namespace
	var active []*Route
	for _, r := range rs {
		if r.Namespace != owner {
			out[r.Key()] = Decision{Reason: ReasonHostAlreadyClaimed,
				Message: fmt.Sprintf("a route in another namespace holds %s and is older than %s", host, r.Name)}
			continue
		}
		if holder := clash(r, active); holder != nil {
			out[r.Key()] = Decision{Reason: ReasonHostAlreadyClaimed,
				Message: fmt.Sprintf("route %s already exposes %s and is older", holder.Name, host)}
			continue
		}
		active = append(active, r)
		out[r.Key()] = Decision{Admitted: true}
	}
}

// clash returns the admitted route r cannot share its host with, if any: the newest with
// the same path, else the newest.
func clash(r *Route, active []*Route) *Route {
	conflict := false
	for _, a := range active {
		if a.Path == r.Path || (a.TLS && r.TLS && (a.Passthrough || r.Passthrough)) {
			conflict = true
			break
		}
	}
	if !conflict {
		return nil
	}
	for i := len(active) - 1; i >= 0; i-- {
		if active[i].Path == r.Path {
			return active[i]
		}
	}
	return active[len(active)-1]
}
