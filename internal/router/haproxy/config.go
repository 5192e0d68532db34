// Package haproxy is the router's data plane: it turns the routes the router admitted into
// one HAProxy configuration (haproxy.cfg, map files, certificate files), checks it with
// `haproxy -c`, runs HAProxy in master-worker mode and applies changes hitlessly: endpoint
// and weight changes through HAProxy's runtime API, everything else by a seamless reload.
//
// Nothing a route's author wrote reaches the configuration unchecked: hosts, paths, header
// actions, annotations' values and certificates are validated here again (Validate),
// whatever the API server accepted, and a route that fails is left out with the reason,
// never rendered.
package haproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Termination is where TLS ends for a route.
type Termination string

const (
	// Plain is a route without TLS (served on the HTTP port only).
	Plain       Termination = ""
	Edge        Termination = "edge"
	Passthrough Termination = "passthrough"
	Reencrypt   Termination = "reencrypt"
)

// InsecurePolicy is what a TLS route does with plain HTTP requests.
type InsecurePolicy string

const (
	InsecureNone     InsecurePolicy = "None"
	InsecureAllow    InsecurePolicy = "Allow"
	InsecureRedirect InsecurePolicy = "Redirect"
)

// Route is one admitted route as HAProxy serves it: a host (and path) and the servers
// behind it, grouped by Service.
type Route struct {
	// Namespace and Name identify the route (its backend is named after them).
	Namespace, Name string
	// Host is served exactly, or every name of its parent domain when Wildcard is set
	// (wildcardPolicy Subdomain: www.example.com serves *.example.com).
	Host     string
	Wildcard bool
	// Path is a prefix of the request paths served ("" or "/" for all): "/api" serves
	// /api and /api/..., not /apis.
	Path string

	Termination    Termination
	InsecurePolicy InsecurePolicy
	// Certificate is the PEM of the route's own certificate, its key and CA chain (edge
	// and reencrypt); empty serves the router's default certificate.
	Certificate []byte
	// DestinationCA is the PEM of the CAs a reencrypt route's backends are verified with;
	// empty uses the router's default destination CA.
	DestinationCA []byte

	// Services are the backends with their weights and endpoints.
	Services []Service
	Options  Options
	// Generation is the route's metadata.generation, for status.
	Generation int64
}

// Key is the route's namespace/name.
func (r *Route) Key() string { return r.Namespace + "/" + r.Name }

// Service is one of a route's backends: its share of the traffic and its endpoints.
type Service struct {
	// Name is the Service's name; reencrypt routes verify that its endpoints' certificates
	// name <Name>.<namespace>.svc.
	Name string
	// Weight is the Service's weight, 0–256; a Service of weight 0 gets no new traffic.
	Weight int32
	// Endpoints are the ready addresses and ports serving the route's target port.
	Endpoints []Endpoint
}

// Endpoint is one address and port a Service sends traffic to.
type Endpoint struct {
	IP   string
	Port int32
}

// Options are what a route's haproxy.router.openshift.io/* annotations set.
type Options struct {
	// Timeout is the server timeout (annotation timeout), TunnelTimeout the one of
	// WebSocket and other tunnelled connections (timeout-tunnel).
	Timeout, TunnelTimeout string
	// Balance is roundrobin, leastconn, source or random (balance).
	Balance string
	// AllowList are the client addresses and networks allowed (ip_allowlist,
	// ip_whitelist); empty allows every client.
	AllowList []string
	// DisableCookies turns off sticky sessions (disable_cookies); CookieName names the
	// sticky-session cookie (router.openshift.io/cookie_name).
	DisableCookies bool
	CookieName     string
	// RateLimit, when set, limits each client address (rate-limit-connections).
	RateLimit *RateLimit
	// HSTS is a Strict-Transport-Security value for TLS routes (hsts_header).
	HSTS string
	// RequestHeaders and ResponseHeaders are spec.httpHeaders.actions, in order.
	RequestHeaders, ResponseHeaders []HeaderAction
}

// RateLimit bounds what one client address may do; 0 leaves a bound off.
type RateLimit struct {
	// ConcurrentTCP is the most connections open at once, RateTCP the most new ones per
	// 3 seconds, RateHTTP the most HTTP requests per 3 seconds.
	ConcurrentTCP, RateTCP, RateHTTP int
}

// HeaderAction sets or deletes a header.
type HeaderAction struct {
	Name string
	// Value is set; Delete removes the header instead.
	Value  string
	Delete bool
}

var (
	dnsName       = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	pathRE        = regexp.MustCompile(`^/[\x21-\x7e]*$`) // printable ASCII, no space
	timeoutRE     = regexp.MustCompile(`^[1-9][0-9]{0,8}(us|ms|s|m|h|d)?$`)
	headerNameRE  = regexp.MustCompile("^[-!#$%&'*+.0-9A-Z^_`a-z|~]{1,255}$")
	cookieNameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	hstsRE        = regexp.MustCompile(`^max-age=[0-9]{1,10}(\s*;\s*(includeSubDomains|preload))*$`)
	balanceValues = map[string]bool{"roundrobin": true, "leastconn": true, "source": true, "random": true}
	// requestValueRE and responseValueRE are OpenShift's rule for header values: plain
	// header text, or HAProxy's %[...] with the req.hdr (res.hdr) and ssl_c_der fetches
	// and the lower and base64 converters only; anything else could read or do more.
	requestValueRE  = headerValueRE("req")
	responseValueRE = headerValueRE("res")
)

func headerValueRE(fetch string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:%(?:%|(?:\{[-+]?[QXE](?:,[-+]?[QXE])*\})?\[(?:` + fetch +
		`\.hdr\([0-9A-Za-z-]+\)|ssl_c_der)(?:,(?:lower|base64))*\])|[^%[:cntrl:]])+$`)
}

// maxHeaderValue is the longest header value a route may set, as OpenShift's validation.
const maxHeaderValue = 16384

// Validate checks everything of r that reaches HAProxy's configuration, with a message
// for the route's status when something does not fit. It is the only gate between what
// API users wrote and the configuration: Render assumes it passed.
func (r *Route) Validate() error {
	var errs []error
	if !dnsName.MatchString(r.Namespace) || !dnsName.MatchString(r.Name) {
		errs = append(errs, fmt.Errorf("namespace and name must be DNS names"))
	}
	if len(r.Host) > 253 || !dnsName.MatchString(r.Host) {
		errs = append(errs, fmt.Errorf("host %q is not a lowercase DNS name", r.Host))
	}
	if r.Path != "" && !pathRE.MatchString(r.Path) {
		errs = append(errs, fmt.Errorf("path %q must begin with / and hold printable characters only", r.Path))
	}
	if r.Termination == Passthrough && strings.TrimRight(r.Path, "/") != "" {
		errs = append(errs, errors.New("passthrough termination does not support paths"))
	}
	switch r.InsecurePolicy {
	case InsecureNone, InsecureAllow, InsecureRedirect:
	default:
		errs = append(errs, fmt.Errorf("insecureEdgeTerminationPolicy %q is not None, Allow or Redirect", r.InsecurePolicy))
	}
	errs = append(errs, r.validateTLS()...)
	for i, s := range r.Services {
		if !dnsName.MatchString(s.Name) || s.Weight < 0 || s.Weight > 256 {
			errs = append(errs, fmt.Errorf("backend %d: %q weight %d", i, s.Name, s.Weight))
		}
		for _, e := range s.Endpoints {
			if ip := net.ParseIP(e.IP); ip == nil || ip.String() != e.IP || e.Port < 1 || e.Port > 65535 {
				errs = append(errs, fmt.Errorf("service %s: bad endpoint %q:%d", s.Name, e.IP, e.Port))
			}
		}
	}
	errs = append(errs, r.Options.validate(r.Termination)...)
	return errors.Join(errs...)
}

func (r *Route) validateTLS() []error {
	var errs []error
	switch r.Termination {
	case Plain, Passthrough:
		if len(r.Certificate) > 0 || len(r.DestinationCA) > 0 {
			errs = append(errs, fmt.Errorf("%s routes take no certificates", nameOf(r.Termination)))
		}
	case Edge, Reencrypt:
		if len(r.Certificate) > 0 {
			if err := validateCertificate(r.Certificate); err != nil {
				errs = append(errs, err)
			}
		}
		if r.Termination == Edge && len(r.DestinationCA) > 0 {
			errs = append(errs, errors.New("edge termination does not support destination certificates"))
		}
		if len(r.DestinationCA) > 0 {
			if err := validateCAs(r.DestinationCA); err != nil {
				errs = append(errs, fmt.Errorf("destinationCACertificate: %w", err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("termination %q is not edge, passthrough or reencrypt", r.Termination))
	}
	return errs
}

func nameOf(t Termination) string {
	if t == Plain {
		return "plain HTTP"
	}
	return string(t)
}

// validateCertificate checks that pemData holds a certificate (and chain) and its private
// key, which match, and nothing else: HAProxy would refuse the whole configuration
// otherwise.
func validateCertificate(pemData []byte) error {
	var certs, keys int
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(strings.TrimSpace(string(rest))) > 0 {
				return errors.New("certificate: data that is not PEM")
			}
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return fmt.Errorf("certificate: %w", err)
			}
			certs++
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			keys++
		default:
			return fmt.Errorf("certificate: unexpected PEM block %q", block.Type)
		}
	}
	if certs == 0 || keys != 1 {
		return fmt.Errorf("certificate: want certificates and one key, got %d and %d", certs, keys)
	}
	if _, err := tls.X509KeyPair(pemData, pemData); err != nil {
		return fmt.Errorf("certificate and key: %w", err)
	}
	return nil
}

// validateCAs checks that pemData holds CA certificates only.
func validateCAs(pemData []byte) error {
	n := 0
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(strings.TrimSpace(string(rest))) > 0 {
				return errors.New("data that is not PEM")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("no certificate")
	}
	return nil
}

func (o *Options) validate(t Termination) []error {
	var errs []error
	for _, v := range []struct{ name, value string }{{"timeout", o.Timeout}, {"timeout-tunnel", o.TunnelTimeout}} {
		if v.value != "" && !timeoutRE.MatchString(v.value) {
			errs = append(errs, fmt.Errorf("%s %q is not a duration such as 30s", v.name, v.value))
		}
	}
	if o.Balance != "" && !balanceValues[o.Balance] {
		errs = append(errs, fmt.Errorf("balance %q is not roundrobin, leastconn, source or random", o.Balance))
	}
	for _, a := range o.AllowList {
		if !validAddress(a) {
			errs = append(errs, fmt.Errorf("ip_allowlist: %q is not an address or network", a))
		}
	}
	if o.CookieName != "" && !cookieNameRE.MatchString(o.CookieName) {
		errs = append(errs, fmt.Errorf("cookie_name %q: letters, digits, - and _ only", o.CookieName))
	}
	if o.HSTS != "" && !hstsRE.MatchString(o.HSTS) {
		errs = append(errs, fmt.Errorf("hsts_header %q is not max-age=<seconds>[;includeSubDomains][;preload]", o.HSTS))
	}
	if rl := o.RateLimit; rl != nil && (rl.ConcurrentTCP < 0 || rl.RateTCP < 0 || rl.RateHTTP < 0) {
		errs = append(errs, errors.New("rate limits must not be negative"))
	}
	if (len(o.RequestHeaders) > 0 || len(o.ResponseHeaders) > 0) && (t == Passthrough) {
		errs = append(errs, errors.New("only edge and re-encrypt routes are supported for providing customized headers."))
	}
	errs = append(errs, validateHeaders(o.RequestHeaders, requestValueRE)...)
	return append(errs, validateHeaders(o.ResponseHeaders, responseValueRE)...)
}

func validateHeaders(actions []HeaderAction, valueRE *regexp.Regexp) []error {
	var errs []error
	for _, h := range actions {
		if !headerNameRE.MatchString(h.Name) {
			errs = append(errs, fmt.Errorf("header name %q is not an HTTP token", h.Name))
		}
		if !h.Delete && (len(h.Value) > maxHeaderValue || !valueRE.MatchString(h.Value)) {
			errs = append(errs, fmt.Errorf("header %s: the value is not plain header text or an allowed %%[...] expression", h.Name))
		}
	}
	return errs
}

// ValidAddress tells whether s is an IP address or a CIDR network, as allow lists hold.
func ValidAddress(s string) bool { return validAddress(s) }

func validAddress(s string) bool {
	if _, _, err := net.ParseCIDR(s); err == nil {
		return true
	}
	return net.ParseIP(s) != nil
}
