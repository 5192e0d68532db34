package haproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

// Settings are the router's own: where it listens and what it serves by default.
type Settings struct {
	// Dir holds the configuration, maps and certificates; RunDir HAProxy's sockets (a
	// short path: a socket's is at most 97 bytes).
	Dir, RunDir string
	// HTTPBind, HTTPSBind and StatsBind are HAProxy's listening addresses, as host:port
	// (":80" for every address). StatsBind serves /healthz and /metrics.
	HTTPBind, HTTPSBind, StatsBind string
	// DefaultCertificate is the PEM file (certificate and key) served to TLS clients whose
	// route has no certificate of its own, or who asked for no known name.
	DefaultCertificate string
	// DefaultDestinationCA is the CA file reencrypt routes without a
	// destinationCACertificate verify their backends with.
	DefaultDestinationCA string
	// Threads is HAProxy's nbthread; MaxConn its global maxconn, 0 for HAProxy's own
	// default, derived from the file descriptors the process may open (each connection
	// takes two).
	Threads, MaxConn int
	// HardStopAfter bounds how long an old worker serves its connections after a reload.
	HardStopAfter string
}

// Files are the rendered configuration, by path relative to Settings.Dir.
type Files map[string][]byte

const (
	configFile = "haproxy.cfg"
	// httpExactMap, httpRegexMap and httpWildcardMap choose the backend of plain HTTP
	// requests: by host alone (a hash lookup) for routes without path or wildcard, by
	// regular expressions of host and path for routes with a path, tried first, and for
	// wildcard routes, tried last (an exact host beats a wildcard, as on OpenShift). The
	// edge maps do the same for requests whose TLS the router terminated,
	// sniPassthroughMap and sniWildcardMap the backends of passthrough routes by SNI, and
	// redirectMap tells, for the first route whose host and path match a plain HTTP
	// request, whether it redirects to HTTPS (1) or not (0).
	httpExactMap      = "maps/http_exact.map"
	httpRegexMap      = "maps/http_regex.map"
	httpWildcardMap   = "maps/http_wildcard.map"
	edgeExactMap      = "maps/edge_exact.map"
	edgeRegexMap      = "maps/edge_regex.map"
	edgeWildcardMap   = "maps/edge_wildcard.map"
	sniPassthroughMap = "maps/sni_passthrough.map"
	sniWildcardMap    = "maps/sni_wildcard.map"
	redirectMap       = "maps/redirect.map"
	crtList           = "crt-list"
)

// backendName is OpenShift's: be_http (plain), be_edge_http, be_secure (reencrypt) or be_tcp
// (passthrough), then namespace:name; these are the names HAProxy's metrics report.
func backendName(r *Route) string {
	prefix := map[Termination]string{Plain: "be_http", Edge: "be_edge_http", Reencrypt: "be_secure", Passthrough: "be_tcp"}[r.Termination]
	return prefix + ":" + r.Namespace + ":" + r.Name
}

// destCAFile is where a reencrypt route's destination CAs are written.
func destCAFile(r *Route) string { return "cacerts/" + fileBase(r) + ".pem" }

// fileBase names a route's files: DNS names hold no "_", so the name is unambiguous.
func fileBase(r *Route) string { return r.Namespace + "_" + r.Name }

// slotName is the name of a service's slot in a backend.
func slotName(service, slot int) string {
	return "s" + strconv.Itoa(service) + "-" + strconv.Itoa(slot)
}

// backend is a route's backend as the template renders it.
type backend struct {
	*Route
	Name, Mode, Balance, CookieName string
	Cookies, TLS                    bool
	AllowListFile, DestCAFile       string
	VerifyHosts                     []string // per service
	Servers                         []server
	RequestHeaders, ResponseHeaders []renderedHeader
}

type server struct {
	Name, Addr, Cookie, VerifyHost string
	Weight                         int
	Disabled                       bool
}

type renderedHeader struct {
	Name, Value string
	Delete      bool
}

// Render returns the configuration of routes (which passed Validate) with their servers in
// slots: the same routes with other endpoints or weights render the same structure.
func Render(s Settings, routes []*Route, slots *Slots) (Files, error) {
	files := Files{}
	sorted := append([]*Route(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key() < sorted[j].Key() })
	backends := make([]backend, 0, len(sorted))
	for _, r := range sorted {
		b := newBackend(s, r, slots)
		if len(r.Certificate) > 0 {
			files["certs/"+fileBase(r)+".pem"] = r.Certificate
		}
		if len(r.DestinationCA) > 0 {
			files[destCAFile(r)] = r.DestinationCA
		}
		if len(r.Options.AllowList) > 0 {
			files[b.AllowListFile] = []byte(strings.Join(r.Options.AllowList, "\n") + "\n")
		}
		backends = append(backends, b)
	}
	renderMaps(files, s, sorted)
	var cfg bytes.Buffer
	if err := configTemplate.Execute(&cfg, struct {
		Settings
		Backends []backend
		Path     func(string) string
	}{s, backends, func(rel string) string { return filepath.Join(s.Dir, rel) }}); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", configFile, err)
	}
	files[configFile] = cfg.Bytes()
	return files, nil
}

func newBackend(s Settings, r *Route, slots *Slots) backend {
	b := backend{Route: r, Name: backendName(r), Mode: "http", Balance: r.Options.Balance, CookieName: r.Options.CookieName}
	if r.Termination == Passthrough {
		b.Mode = "tcp"
	}
	if b.Balance == "" {
		// OpenShift's defaults: source for passthrough (no cookies to stick with), else
		// random, which spreads load well across many routers and reloads.
		b.Balance = map[bool]string{true: "source", false: "random"}[r.Termination == Passthrough]
	}
	b.Cookies = r.Termination != Passthrough && !r.Options.DisableCookies
	if b.CookieName == "" {
		b.CookieName = hash(b.Name)
	}
	b.TLS = r.Termination == Edge || r.Termination == Reencrypt
	if len(r.Options.AllowList) > 0 {
		b.AllowListFile = filepath.Join(s.Dir, "allowlists", fileBase(r)+".txt")
	}
	if r.Termination == Reencrypt {
		b.DestCAFile = s.DefaultDestinationCA
		if len(r.DestinationCA) > 0 {
			b.DestCAFile = filepath.Join(s.Dir, destCAFile(r))
		}
	}
	weights := endpointWeights(r.Services)
	for i, svc := range r.Services {
		verifyHost := ""
		if r.Termination == Reencrypt {
			verifyHost = svc.Name + "." + r.Namespace + ".svc"
		}
		for slot, ep := range slots.Assign(b.Name, i, svc.Endpoints) {
			srv := server{Name: slotName(i, slot), VerifyHost: verifyHost, Addr: "127.0.0.1:1", Disabled: true}
			if ep != nil {
				srv.Addr, srv.Weight, srv.Disabled = ep.addr(), weights[i], false
			}
			srv.Cookie = hash(b.Name + "/" + srv.Name)
			b.Servers = append(b.Servers, srv)
		}
	}
	b.RequestHeaders = renderHeaders(r.Options.RequestHeaders)
	b.ResponseHeaders = renderHeaders(r.Options.ResponseHeaders)
	return b
}

func (e *Endpoint) addr() string {
	if strings.Contains(e.IP, ":") {
		return "[" + e.IP + "]:" + strconv.Itoa(int(e.Port))
	}
	return e.IP + ":" + strconv.Itoa(int(e.Port))
}

// endpointWeights are the server weights of each service, as OpenShift's router computes
// them: a service's weight is split over its endpoints, so the traffic shares are the
// services' weights whatever their number of endpoints, scaled so that the heaviest
// endpoint weighs 256 (HAProxy's most) and truncated, at least 1. A service of weight 0
// gets 0 (no new traffic); when only one service has a weight, its servers all weigh 1.
func endpointWeights(services []Service) []int {
	per := make([]float32, len(services))
	var highest float32
	active := 0
	for i, s := range services {
		if s.Weight > 0 && len(s.Endpoints) > 0 {
			per[i] = float32(s.Weight) / float32(len(s.Endpoints))
			highest = max(highest, per[i])
			active++
		}
	}
	out := make([]int, len(services))
	for i := range services {
		switch {
		case per[i] == 0:
		case active == 1:
			out[i] = 1
		default:
			out[i] = max(1, int(per[i]*(256/highest)))
		}
	}
	return out
}

// hash is a short stable name for cookies: HAProxy's cookie names and values must be
// tokens, and should not tell clients the namespace and route names.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// quote makes s one double-quoted HAProxy argument: backslashes, quotes and "$" (HAProxy
// expands environment variables in double quotes) are escaped. Validate has kept control
// characters out, so s stays on its line.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

func renderHeaders(actions []HeaderAction) []renderedHeader {
	out := make([]renderedHeader, len(actions))
	for i, a := range actions {
		out[i] = renderedHeader{Name: a.Name, Value: quote(a.Value), Delete: a.Delete}
	}
	return out
}

// routeRegexp is the map key matching a route's requests by "base" (the Host header and
// the path), as OpenShift's router matches: the host (any one label in its place for
// wildcard routes), maybe a trailing dot and a port, then the path and its subpaths
// ("/api" serves /api and /api/..., "/api/" everything under it). Every byte that is not
// a letter, digit or one of -./ is escaped: nothing a path holds can end the map line or
// widen the match.
func routeRegexp(r *Route) string {
	host := hostRegexp(r)
	var path, sub string
	switch {
	case strings.TrimRight(r.Path, "/") == "":
		sub = "(/.*)?"
	case strings.HasSuffix(r.Path, "/"):
		path, sub = escapeRegexp(r.Path), ".*"
	default:
		path, sub = escapeRegexp(r.Path), "(/.*)?"
	}
	return "^" + host + `\.?(:[0-9]+)?` + path + sub + "$"
}

// sniRegexp matches a wildcard passthrough route's server names.
func sniRegexp(r *Route) string {
	return "^" + hostRegexp(r) + "$"
}

// hostRegexp matches a route's host: for a wildcard route, any one label in place of the
// host's first (a host of one label matches itself only, as on OpenShift).
func hostRegexp(r *Route) string {
	if domain := domainOf(r.Host); r.Wildcard && domain != "" {
		return `[^.]*` + escapeRegexp("."+domain)
	}
	return escapeRegexp(r.Host)
}

var plainRegexpByte = regexp.MustCompile(`^[A-Za-z0-9/-]$`)

func escapeRegexp(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainRegexpByte.MatchString(string(c)) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	return b.String()
}

// domainOf is a host without its first label ("" for a host of one label).
func domainOf(host string) string {
	_, domain, _ := strings.Cut(host, ".")
	return domain
}

// certificateFilter is the server names a route's certificate is offered for: its host,
// or every name of the host's domain for a wildcard route.
func certificateFilter(r *Route) string {
	if domain := domainOf(r.Host); r.Wildcard && domain != "" {
		return "*." + domain
	}
	return r.Host
}

// renderMaps writes the map files and the certificates' crt-list. Regular expressions
// are tried in order: exact hosts before wildcards, longer paths first.
func renderMaps(files Files, s Settings, routes []*Route) {
	byPath := append([]*Route(nil), routes...)
	sort.SliceStable(byPath, func(i, j int) bool {
		a, b := byPath[i], byPath[j]
		if a.Wildcard != b.Wildcard {
			return !a.Wildcard
		}
		if len(a.Path) != len(b.Path) {
			return len(a.Path) > len(b.Path)
		}
		return a.Host < b.Host
	})
	redirectingDomains := map[string]bool{}
	for _, r := range routes {
		if r.Wildcard && r.Termination != Plain && r.InsecurePolicy == InsecureRedirect {
			redirectingDomains[domainOf(r.Host)] = true
		}
	}
	var httpExact, httpRegex, httpWild, edgeExact, edgeRegex, edgeWild, sniPass, sniWild, redirect, crts bytes.Buffer
	for _, r := range byPath {
		be := backendName(r)
		line := func(exactMap, regexMap, wildMap *bytes.Buffer) {
			switch {
			case r.Wildcard:
				fmt.Fprintf(wildMap, "%s %s\n", routeRegexp(r), be)
			case strings.TrimRight(r.Path, "/") == "":
				fmt.Fprintf(exactMap, "%s %s\n", r.Host, be)
			default:
				fmt.Fprintf(regexMap, "%s %s\n", routeRegexp(r), be)
			}
		}
		switch r.Termination {
		case Plain:
			line(&httpExact, &httpRegex, &httpWild)
		case Edge, Reencrypt:
			line(&edgeExact, &edgeRegex, &edgeWild)
			if r.InsecurePolicy == InsecureAllow {
				line(&httpExact, &httpRegex, &httpWild)
			}
			if len(r.Certificate) > 0 {
				fmt.Fprintf(&crts, "%s [alpn h2,http/1.1] %s\n", filepath.Join(s.Dir, "certs", fileBase(r)+".pem"), certificateFilter(r))
			}
		case Passthrough:
			if r.Wildcard {
				fmt.Fprintf(&sniWild, "%s %s\n", sniRegexp(r), be)
			} else {
				fmt.Fprintf(&sniPass, "%s %s\n", r.Host, be)
			}
		}
		switch {
		case r.Termination != Plain && r.InsecurePolicy == InsecureRedirect:
			fmt.Fprintf(&redirect, "%s 1\n", routeRegexp(r))
		case (r.Termination == Plain || r.InsecurePolicy == InsecureAllow) && redirectingDomains[domainOf(r.Host)]:
			// Served over plain HTTP under a wildcard that redirects: the wildcard must
			// not redirect its requests. (Only there: every line is a regular
			// expression HAProxy tries on each plain HTTP request.)
			fmt.Fprintf(&redirect, "%s 0\n", routeRegexp(r))
		}
	}
	for name, buf := range map[string]*bytes.Buffer{
		httpExactMap: &httpExact, httpRegexMap: &httpRegex, httpWildcardMap: &httpWild,
		edgeExactMap: &edgeExact, edgeRegexMap: &edgeRegex, edgeWildcardMap: &edgeWild,
		sniPassthroughMap: &sniPass, sniWildcardMap: &sniWild, redirectMap: &redirect, crtList: &crts,
	} {
		files[name] = buf.Bytes()
	}
}

var configTemplate = template.Must(template.New(configFile).Parse(`# Written by kubia-router: every change is overwritten.
global
  master-worker
{{- if .MaxConn}}
  maxconn {{.MaxConn}}
{{- end}}
  nbthread {{.Threads}}
  stats socket {{.RunDir}}/haproxy.sock mode 600 level admin expose-fd listeners
  stats timeout 2m
  hard-stop-after {{.HardStopAfter}}
  log stderr format short local0 err
  ssl-default-bind-options ssl-min-ver TLSv1.2
  tune.ssl.default-dh-param 2048

defaults
  mode http
  log global
  option redispatch
{{- /* Idle connections to servers serve other clients' requests too, first ones
  included: clients without keep-alive then cost the pods no new connection each. */}}
  http-reuse aggressive
  retries 3
  timeout connect 5s
  timeout client 30s
  timeout client-fin 1s
  timeout server 30s
  timeout server-fin 1s
  timeout http-request 10s
  timeout http-keep-alive 300s
  timeout tunnel 1h

frontend stats
  bind {{.StatsBind}}
  mode http
  monitor-uri /healthz
  http-request use-service prometheus-exporter if { path /metrics }
  http-request return status 404 content-type text/plain string "not found"

frontend public
  bind {{.HTTPBind}}
  mode http
  option forwardfor
  http-request del-header Proxy
  http-request set-header Host %[req.hdr(Host),lower]
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(Host)]
  http-request set-header X-Forwarded-Port %[dst_port]
  http-request redirect scheme https code 302 if { base,map_reg({{call .Path "maps/redirect.map"}}) -m str 1 }
  use_backend %[base,map_reg({{call .Path "maps/http_regex.map"}})] if { base,map_reg({{call .Path "maps/http_regex.map"}}) -m found }
  use_backend %[req.hdr(host),field(1,:),map_str({{call .Path "maps/http_exact.map"}})] if { req.hdr(host),field(1,:),map_str({{call .Path "maps/http_exact.map"}}) -m found }
  use_backend %[base,map_reg({{call .Path "maps/http_wildcard.map"}})] if { base,map_reg({{call .Path "maps/http_wildcard.map"}}) -m found }
  default_backend be_no_route

frontend public_ssl
  bind {{.HTTPSBind}}
  mode tcp
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend %[req.ssl_sni,lower,map_str({{call .Path "maps/sni_passthrough.map"}})] if { req.ssl_sni,lower,map_str({{call .Path "maps/sni_passthrough.map"}}) -m found }
  use_backend %[req.ssl_sni,lower,map_reg({{call .Path "maps/sni_wildcard.map"}})] if { req.ssl_sni,lower,map_reg({{call .Path "maps/sni_wildcard.map"}}) -m found }
  default_backend be_terminate

# TLS the router terminates goes through a second frontend, on a socket of its own.
backend be_terminate
  mode tcp
  server fe_terminate unix@{{.RunDir}}/terminate.sock send-proxy-v2

frontend fe_terminate
  bind unix@{{.RunDir}}/terminate.sock accept-proxy ssl crt {{.DefaultCertificate}} crt-list {{call .Path "crt-list"}} alpn h2,http/1.1
  mode http
  option forwardfor
  http-request del-header Proxy
  http-request set-header Host %[req.hdr(Host),lower]
  http-request set-header X-Forwarded-Proto https
  http-request set-header X-Forwarded-Host %[req.hdr(Host)]
  http-request set-header X-Forwarded-Port 443
  use_backend %[base,map_reg({{call .Path "maps/edge_regex.map"}})] if { base,map_reg({{call .Path "maps/edge_regex.map"}}) -m found }
  use_backend %[req.hdr(host),field(1,:),map_str({{call .Path "maps/edge_exact.map"}})] if { req.hdr(host),field(1,:),map_str({{call .Path "maps/edge_exact.map"}}) -m found }
  use_backend %[base,map_reg({{call .Path "maps/edge_wildcard.map"}})] if { base,map_reg({{call .Path "maps/edge_wildcard.map"}}) -m found }
  default_backend be_no_route

backend be_no_route
  mode http
  http-request return status 503 content-type text/plain string "No route serves this host and path."
{{range .Backends}}
backend {{.Name}}
  mode {{.Mode}}
  balance {{.Balance}}
{{- with .Options.Timeout}}
  timeout server {{.}}
{{- end}}
{{- with .Options.TunnelTimeout}}
  timeout tunnel {{.}}
{{- end}}
{{- if .AllowListFile}}
  acl allowed src -f {{.AllowListFile}}
  tcp-request content reject if !allowed
{{- end}}
{{- with .Options.RateLimit}}
  stick-table type ip size 100k expire 30s store conn_cur,conn_rate(3s),http_req_rate(3s)
  tcp-request content track-sc2 src
{{- if .ConcurrentTCP}}
  tcp-request content reject if { sc2_conn_cur gt {{.ConcurrentTCP}} }
{{- end}}
{{- if .RateTCP}}
  tcp-request content reject if { sc2_conn_rate gt {{.RateTCP}} }
{{- end}}
{{- if .RateHTTP}}
  tcp-request content reject if { sc2_http_req_rate gt {{.RateHTTP}} }
{{- end}}
{{- end}}
{{- if eq .Mode "http"}}
{{- if and .TLS .Options.HSTS}}
  http-response set-header Strict-Transport-Security {{printf "%q" .Options.HSTS}}
{{- end}}
{{- range .RequestHeaders}}
{{- if .Delete}}
  http-request del-header {{.Name}}
{{- else}}
  http-request set-header {{.Name}} {{.Value}}
{{- end}}
{{- end}}
{{- range .ResponseHeaders}}
{{- if .Delete}}
  http-response del-header {{.Name}}
{{- else}}
  http-response set-header {{.Name}} {{.Value}}
{{- end}}
{{- end}}
{{- if .Cookies}}
  cookie {{.CookieName}} insert indirect nocache httponly{{if .TLS}} secure attr SameSite=None{{end}}
{{- end}}
{{- end}}
{{- $b := .}}
{{- range .Servers}}
  server {{.Name}} {{.Addr}} weight {{.Weight}}{{if $b.Cookies}} cookie {{.Cookie}}{{end}}{{if .Disabled}} disabled{{end}}{{if .VerifyHost}} ssl verifyhost {{.VerifyHost}} verify required ca-file {{$b.DestCAFile}}{{end}}
{{- end}}
{{end}}`))
