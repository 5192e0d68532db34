package admission

import (
	"fmt"
	"sort"
	"strings"
)

// With wildcard routes allowed, OpenShift's HostAdmitter also gives out domains: a
// wildcard route for www.example.com claims *.example.com for its namespace, and a route
// for foo.example.com blocks wildcards of example.com in other namespaces. The older
// route wins each conflict; within a namespace a wildcard and exact hosts coexist, and
// routes of the same kind clash only on the same path. Deciding for all routes oldest
// first gives what OpenShift's router settles on after its displacements.

// wildcardClaims are the claims of the routes admitted so far, by host and by domain.
type wildcardClaims struct {
	hosts     map[string][]*Route // exact routes, by host
	wildcards map[string][]*Route // wildcard routes, by domain
	blocked   map[string][]*Route // exact routes, by their host's domain
}

// admitWildcards decides the host and domain claims of routes (which have valid hosts),
// recording refusals in out, and returns the routes that keep their claims.
func admitWildcards(routes []*Route, out map[string]Decision) []*Route {
	rs := append([]*Route(nil), routes...)
	sort.Slice(rs, func(i, j int) bool { return older(rs[i], rs[j]) })
	c := wildcardClaims{hosts: map[string][]*Route{}, wildcards: map[string][]*Route{}, blocked: map[string][]*Route{}}
	var kept []*Route
	for _, r := range rs {
		if holder, msg := c.blocker(r); holder != nil {
			if holder.Namespace != r.Namespace {
				msg = fmt.Sprintf("a route in another namespace holds host %s", r.Host)
			}
			out[r.Key()] = Decision{Reason: ReasonHostAlreadyClaimed, Message: msg}
			continue
		}
		c.claim(r)
		kept = append(kept, r)
	}
	return kept
}

// blocker is the older route whose claim r conflicts with, and OpenShift's message for it.
func (c *wildcardClaims) blocker(r *Route) (*Route, string) {
	domain := domainOf(r.Host)
	for _, h := range c.hosts[r.Host] {
		if h.Namespace == r.Namespace && (r.Wildcard || h.Path != r.Path) {
			continue
		}
		return h, fmt.Sprintf("route %s has host %s", h.Key(), h.Host)
	}
	for _, w := range c.wildcards[domain] {
		if w.Namespace == r.Namespace && (!r.Wildcard || w.Path != r.Path) {
			continue
		}
		return w, fmt.Sprintf("wildcard route %s has host *.%s, blocking %s", w.Key(), domain, r.Host)
	}
	if !r.Wildcard {
		return nil, ""
	}
	for _, b := range c.blocked[domain] {
		if b.Namespace != r.Namespace {
			return b, fmt.Sprintf("route %s has host %s, blocking *.%s", b.Key(), b.Host, domain)
		}
	}
	return nil, ""
}

func (c *wildcardClaims) claim(r *Route) {
	domain := domainOf(r.Host)
	if r.Wildcard {
		c.wildcards[domain] = append(c.wildcards[domain], r)
		return
	}
	c.hosts[r.Host] = append(c.hosts[r.Host], r)
	c.blocked[domain] = append(c.blocked[domain], r)
}

// domainOf is OpenShift's GetDomainForHost: the host without its first label ("" for a
// single label).
func domainOf(host string) string {
	if i := strings.IndexByte(host, '.'); i >= 0 {
		return host[i+1:]
	}
	return ""
}
