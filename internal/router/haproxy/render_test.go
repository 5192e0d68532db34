package haproxy

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Values an API user could write that must never reach HAProxy's configuration: each is
// refused by Validate with a message.
func TestValidateRefusesHostileValues(t *testing.T) {
	base := func() *Route {
		return &Route{Namespace: "ns", Name: "r", Host: "www.apps.test", InsecurePolicy: InsecureNone,
			Services: []Service{{Name: "web", Weight: 100, Endpoints: []Endpoint{{IP: "198.18.0.10", Port: 8080}}}}}
	}
	tests := []struct {
		name   string
		mutate func(*Route)
		want   string
	}{
		{"newline in path", func(r *Route) { r.Path = "/a\n  use_backend evil" }, "path"},
		{"space in path", func(r *Route) { r.Path = "/a b" }, "path"},
		{"path without slash", func(r *Route) { r.Path = "a" }, "path"},
		{"non-ASCII path", func(r *Route) { r.Path = "/é" }, "path"},
		{"host with a space", func(r *Route) { r.Host = "www.apps.test evil" }, "host"},
		{"upper-case host", func(r *Route) { r.Host = "WWW.apps.test" }, "host"},
		{"oversized host", func(r *Route) { r.Host = strings.Repeat("a.", 130) + "test" }, "host"},
		{"timeout directive", func(r *Route) { r.Options.Timeout = "5s\n  http-request deny" }, "timeout"},
		{"timeout text", func(r *Route) { r.Options.Timeout = "forever" }, "timeout"},
		{"balance", func(r *Route) { r.Options.Balance = "roundrobin\nserver x 1.2.3.4:80" }, "balance"},
		{"allowlist", func(r *Route) { r.Options.AllowList = []string{"10.0.0.0/8\n0.0.0.0/0"} }, "ip_allowlist"},
		{"cookie name", func(r *Route) { r.Options.CookieName = "a b" }, "cookie_name"},
		{"hsts", func(r *Route) { r.Options.HSTS = `max-age=1"; evil` }, "hsts_header"},
		{"header name", func(r *Route) {
			r.Options.RequestHeaders = []HeaderAction{{Name: "X-A\n  http-request deny", Value: "v"}}
		}, "header name"},
		{"header value newline", func(r *Route) {
			r.Options.ResponseHeaders = []HeaderAction{{Name: "X-A", Value: "v\n  http-response deny"}}
		}, "header X-A"},
		{"header value fetch", func(r *Route) {
			r.Options.RequestHeaders = []HeaderAction{{Name: "X-A", Value: "%[env(HOME)]"}}
		}, "header X-A"},
		{"oversized header value", func(r *Route) {
			r.Options.RequestHeaders = []HeaderAction{{Name: "X-A", Value: strings.Repeat("v", maxHeaderValue+1)}}
		}, "header X-A"},
		{"endpoint address", func(r *Route) { r.Services[0].Endpoints[0].IP = "198.18.0.10 backup" }, "endpoint"},
		{"weight", func(r *Route) { r.Services[0].Weight = 300 }, "weight"},
		{"passthrough path", func(r *Route) { r.Termination, r.Path = Passthrough, "/x" }, "passthrough termination does not support paths"},
		{"passthrough certificate", func(r *Route) { r.Termination, r.Certificate = Passthrough, []byte("x") }, "take no certificates"},
		{"not PEM", func(r *Route) { r.Termination, r.Certificate = Edge, []byte("crt-list /etc/shadow") }, "certificate"},
		{"bad destination CA", func(r *Route) { r.Termination, r.DestinationCA = Reencrypt, []byte("x") }, "destinationCACertificate"},
		{"policy", func(r *Route) { r.InsecurePolicy = "Sometimes" }, "insecureEdgeTerminationPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.mutate(r)
			if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate: %v, want an error about %q", err, tt.want)
			}
		})
	}
	if err := base().Validate(); err != nil {
		t.Errorf("the base route: %v", err)
	}
}

// directives are the first words of every line HAProxy's configuration may have.
var directives = regexp.MustCompile(`^(#.*|global|defaults|frontend \S+|backend \S+|  (master-worker|maxconn|nbthread|stats|hard-stop-after|log|` +
	`ssl-default-bind-options|tune\.ssl\.default-dh-param|mode|option|retries|timeout|bind|monitor-uri|http-request|http-response|` +
	`tcp-request|use_backend|default_backend|server|balance|acl|stick-table|cookie|http-reuse) .*|  master-worker|)$`)

// Whatever strings a route holds, a route Validate accepts renders lines of known
// directives only, map lines of two words, and regular expressions that match its own
// host only: nothing a user writes can add configuration.
func FuzzRender(f *testing.F) {
	f.Add("www.apps.test", "/api", "X-Custom", "value", "5s", "cookie", "max-age=31536000", false)
	f.Add("a.b", "/a\nb", "X-A\r\nX-B", "%[req.hdr(host),lower]", "1m\n", "c\"", "max-age=1;preload", false)
	f.Add("x.test", "/$(evil)", "X-A", `v"; http-request deny; "`, "10", "", "", false)
	f.Add("x.test", "/a/*?.+[](){}|^$\\", "X-A", "${HOME}", "1h", "n", "", false)
	f.Add("www.wild.test", "/w", "X-W", "w", "1s", "w", "", true)
	f.Add("single", "", "X-W", "w", "1s", "w", "", true)
	f.Fuzz(func(t *testing.T, host, path, headerName, headerValue, timeout, cookie, hsts string, wildcard bool) {
		r := &Route{Namespace: "ns", Name: "r", Host: host, Path: path, Wildcard: wildcard, Termination: Edge, InsecurePolicy: InsecureRedirect,
			Services: []Service{{Name: "web", Weight: 1, Endpoints: []Endpoint{{IP: "198.18.0.10", Port: 8080}}}},
			Options: Options{Timeout: timeout, CookieName: cookie, HSTS: hsts,
				RequestHeaders: []HeaderAction{{Name: headerName, Value: headerValue}}}}
		if r.Validate() != nil {
			return
		}
		files, err := Render(Settings{Dir: "/d", RunDir: "/r", HTTPBind: ":80", HTTPSBind: ":443", StatsBind: ":1936",
			DefaultCertificate: "/c.pem", Threads: 1, MaxConn: 10, HardStopAfter: "1s"}, []*Route{r}, NewSlots())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(files[configFile]), "\n") {
			if !directives.MatchString(line) {
				t.Fatalf("line %q is no known directive (route %+v)", line, r)
			}
		}
		for name, data := range files {
			if !strings.HasPrefix(name, "maps/") {
				continue
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				if line == "" {
					continue
				}
				fields := strings.Fields(line)
				if len(fields) != 2 {
					t.Fatalf("%s: line %q is not a key and a value", name, line)
				}
				if name == redirectMap || strings.HasSuffix(name, "_regex.map") || strings.HasSuffix(name, "_wildcard.map") {
					re, err := regexp.Compile(fields[0])
					if err != nil {
						t.Fatalf("%s: %q: %v", name, fields[0], err)
					}
					other := "evil.test"
					if wildcard {
						other = "a.b." + host // one label deep only
					}
					if !re.MatchString(host+path) || re.MatchString(other+path) {
						t.Fatalf("%s: %q does not match exactly %q", name, fields[0], host+path)
					}
				}
			}
		}
	})
}

// OpenShift's weights: 3 and 1 over 1 and 2 endpoints give 256 and 42 each (75.3 %); one
// weighted service weighs 1 per server; weight 0 gets 0.
func TestEndpointWeights(t *testing.T) {
	eps := func(n int) []Endpoint { return make([]Endpoint, n) }
	tests := []struct {
		name     string
		services []Service
		want     []int
	}{
		{"3:1 over 1 and 2", []Service{{Weight: 3, Endpoints: eps(1)}, {Weight: 1, Endpoints: eps(2)}}, []int{256, 42}},
		{"one service", []Service{{Weight: 100, Endpoints: eps(3)}}, []int{1}},
		{"one weighted", []Service{{Weight: 100, Endpoints: eps(3)}, {Weight: 0, Endpoints: eps(1)}}, []int{1, 0}},
		{"no endpoints", []Service{{Weight: 100, Endpoints: eps(0)}, {Weight: 50, Endpoints: eps(1)}}, []int{0, 1}},
		{"all zero", []Service{{Weight: 0, Endpoints: eps(1)}, {Weight: 0, Endpoints: eps(1)}}, []int{0, 0}},
		{"tiny share", []Service{{Weight: 256, Endpoints: eps(1)}, {Weight: 1, Endpoints: eps(10)}}, []int{256, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endpointWeights(tt.services); !slices.Equal(got, tt.want) {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}

// The redirect map, whose regular expressions HAProxy tries on every plain HTTP request,
// holds the redirecting routes and, only under a redirecting wildcard, the routes that
// must not redirect.
func TestRedirectMapStaysSmall(t *testing.T) {
	route := func(name, host string, wildcard bool, term Termination, policy InsecurePolicy) *Route {
		return &Route{Namespace: "ns", Name: name, Host: host, Wildcard: wildcard, Termination: term, InsecurePolicy: policy,
			Services: []Service{{Name: "web", Weight: 1, Endpoints: []Endpoint{{IP: "198.18.0.10", Port: 8080}}}}}
	}
	settings := Settings{Dir: "/d", RunDir: "/r", HTTPBind: ":80", HTTPSBind: ":443", StatsBind: ":1936",
		DefaultCertificate: "/c.pem", Threads: 1, MaxConn: 10, HardStopAfter: "1s"}
	tests := []struct {
		name   string
		routes []*Route
		want   []string
	}{
		{"plain routes only", []*Route{route("a", "a.test", false, Plain, InsecureNone), route("b", "b.test", false, Plain, InsecureNone)}, nil},
		{"a redirecting route", []*Route{route("a", "a.test", false, Plain, InsecureNone), route("s", "s.test", false, Edge, InsecureRedirect)},
			[]string{`^s\x2etest\.?(:[0-9]+)?(/.*)?$ 1`}},
		{"under a redirecting wildcard", []*Route{route("w", "www.w.test", true, Edge, InsecureRedirect),
			route("p", "p.w.test", false, Plain, InsecureNone), route("o", "o.other.test", false, Plain, InsecureNone)},
			[]string{`^p\x2ew\x2etest\.?(:[0-9]+)?(/.*)?$ 0`, `^[^.]*\x2ew\x2etest\.?(:[0-9]+)?(/.*)?$ 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Render(settings, tt.routes, NewSlots())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(files[redirectMap])), "\n") {
				if line != "" {
					got = append(got, line)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("redirect map:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
