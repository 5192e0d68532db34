package haproxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
)

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate for names and its key, as PEM.
func (c *ca) issue(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func (c *ca) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// backendServer answers every request with its name; tlsCert makes it a TLS server.
func backendServer(t *testing.T, name string, tlsCert *tls.Certificate) Endpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCert != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*tlsCert}})
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.URL.Path, r.Header.Get("X-Forwarded-Proto"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return Endpoint{IP: "127.0.0.1", Port: int32(l.Addr().(*net.TCPAddr).Port)}
}

// router is a Manager running a real HAProxy on loopback ports.
type router struct {
	*Manager
	http, https int
	ca          *ca
}

func newRouter(t *testing.T) *router {
	t.Helper()
	binary, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (make deps installs Debian's)")
	}
	dir := t.TempDir()
	c := newCA(t)
	cert, key := c.issue(t, "*.apps.test")
	defaultCert := filepath.Join(dir, "default.pem")
	if err := os.WriteFile(defaultCert, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	destCA := filepath.Join(dir, "default-destination-ca.pem")
	if err := os.WriteFile(destCA, c.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	runDir, err := os.MkdirTemp("", "router-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	r := &router{http: freePort(t), https: freePort(t), ca: c}
	r.Manager = &Manager{Binary: binary, Log: testr.New(t), Settings: Settings{
		Dir: filepath.Join(dir, "haproxy"), RunDir: runDir,
		HTTPBind: "127.0.0.1:" + strconv.Itoa(r.http), HTTPSBind: "127.0.0.1:" + strconv.Itoa(r.https),
		StatsBind: "127.0.0.1:" + strconv.Itoa(freePort(t)), DefaultCertificate: defaultCert, DefaultDestinationCA: destCA,
		Threads: 2, MaxConn: 2000, HardStopAfter: "10s",
	}}
	if err := os.MkdirAll(r.Settings.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}

func (r *router) apply(t *testing.T, routes ...*Route) Result {
	t.Helper()
	res, err := r.Apply(context.Background(), routes)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// client sends requests for host to the router's ports, as curl --resolve does.
func (r *router) client(host string) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		port := strconv.Itoa(r.http)
		if strings.HasSuffix(addr, ":443") {
			port = strconv.Itoa(r.https)
		}
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: r.ca.pool(), ServerName: host}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		return resp.StatusCode, resp.Header.Get("Location")
	}
	return resp.StatusCode, string(body)
}

func expect(t *testing.T, c *http.Client, url string, wantCode int, wantBody string) {
	t.Helper()
	code, body := get(t, c, url)
	if code != wantCode || !strings.HasPrefix(body, wantBody) {
		t.Errorf("GET %s: %d %q, want %d %q", url, code, body, wantCode, wantBody)
	}
}

// servedNames are the DNS names of the certificate an HTTPS GET of url was served with.
func servedNames(t *testing.T, c *http.Client, url string) []string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].DNSNames
}

func plainRoute(name, host string, eps ...Endpoint) *Route {
	return &Route{Namespace: "ns", Name: name, Host: host, InsecurePolicy: InsecureNone,
		Services: []Service{{Name: name, Weight: 100, Endpoints: eps}}}
}

// Hosts and paths choose the backend; anything else gets the router's 503.
func TestHostsAndPaths(t *testing.T) {
	r := newRouter(t)
	web, api := backendServer(t, "web", nil), backendServer(t, "api", nil)
	apiRoute := plainRoute("api", "www.apps.test", api)
	apiRoute.Path = "/api"
	r.apply(t, plainRoute("web", "www.apps.test", web), apiRoute)
	c := r.client("www.apps.test")
	expect(t, c, "http://www.apps.test/", 200, "web / http")
	expect(t, c, "http://www.apps.test/api", 200, "api /api")
	expect(t, c, "http://www.apps.test/api/v1", 200, "api /api/v1")
	expect(t, c, "http://www.apps.test/apis", 200, "web /apis")
	expect(t, c, "http://WWW.Apps.Test/api", 200, "api /api")
	expect(t, r.client("other.apps.test"), "http://other.apps.test/", 503, "No route serves this host and path.")
}

// A wildcard route serves every name of its host's domain, one label deep, that no exact
// route serves; a wildcard passthrough route takes every server name of its domain.
func TestWildcards(t *testing.T) {
	r := newRouter(t)
	web, api := backendServer(t, "web", nil), backendServer(t, "api", nil)
	pem, key := r.ca.issue(t, "pass.tls.test", "x.tls.test")
	pair, err := tls.X509KeyPair(pem, key)
	if err != nil {
		t.Fatal(err)
	}
	tlsWeb := backendServer(t, "tls-web", &pair)
	wild := plainRoute("web", "www.wild.test", web)
	wild.Wildcard = true
	pass := plainRoute("pass", "pass.tls.test", tlsWeb)
	pass.Termination, pass.Wildcard = Passthrough, true
	single := plainRoute("single", "single", web)
	single.Wildcard = true
	secure := plainRoute("secure", "www.sec.test", web)
	secure.Wildcard, secure.Termination, secure.InsecurePolicy = true, Edge, InsecureRedirect
	if res := r.apply(t, wild, plainRoute("api", "api.wild.test", api), pass, single, secure, plainRoute("plain", "plain.sec.test", api)); len(res.Rejected) > 0 {
		t.Fatal(res.Rejected)
	}
	for _, c := range []struct {
		host, path string
		code       int
		body       string
	}{
		{"www.wild.test", "/", 200, "web /"},
		{"any.wild.test", "/a", 200, "web /a"},
		{"api.wild.test", "/", 200, "api /"}, // the exact host beats the wildcard
		{"a.b.wild.test", "/", 503, "No route"},
		{"wild.test", "/", 503, "No route"},
		{"wildxtest", "/", 503, "No route"},
		{"single", "/", 200, "web /"},
		{"other", "/", 503, "No route"},
		// A wildcard that redirects plain HTTP leaves alone the exact hosts that serve it.
		{"x.sec.test", "/a", 302, "https://x.sec.test/a"},
		{"plain.sec.test", "/a", 200, "api /a"},
	} {
		expect(t, r.client(c.host), "http://"+c.host+c.path, c.code, c.body)
	}
	if got := servedNames(t, r.client("x.tls.test"), "https://x.tls.test/p"); got[0] != "pass.tls.test" {
		t.Errorf("wildcard passthrough: served by %v, want the backend's certificate", got)
	}
}

// Edge, passthrough and reencrypt TLS, and what each insecure policy does with HTTP.
func TestTLS(t *testing.T) {
	r := newRouter(t)
	edgeCert, edgeKey := r.ca.issue(t, "secure.example.com")
	backendPEM, backendKey := r.ca.issue(t, "tls-web.ns.svc", "pass.apps.test")
	backendPair, err := tls.X509KeyPair(backendPEM, backendKey)
	if err != nil {
		t.Fatal(err)
	}
	web := backendServer(t, "web", nil)
	tlsWeb := backendServer(t, "tls-web", &backendPair)

	edge := plainRoute("edge", "secure.example.com", web)
	edge.Termination, edge.Certificate, edge.InsecurePolicy = Edge, append(edgeCert, edgeKey...), InsecureRedirect
	allow := plainRoute("allow", "allow.apps.test", web)
	allow.Termination, allow.InsecurePolicy = Edge, InsecureAllow
	none := plainRoute("none", "none.apps.test", web)
	none.Termination = Edge
	pass := plainRoute("pass", "pass.apps.test", tlsWeb)
	pass.Termination = Passthrough
	reencrypt := &Route{Namespace: "ns", Name: "re", Host: "re.apps.test", Termination: Reencrypt, InsecurePolicy: InsecureNone,
		DestinationCA: r.ca.pem, Services: []Service{{Name: "tls-web", Weight: 100, Endpoints: []Endpoint{tlsWeb}}}}
	res := r.apply(t, edge, allow, none, pass, reencrypt)
	if len(res.Rejected) > 0 {
		t.Fatal(res.Rejected)
	}

	expect(t, r.client("secure.example.com"), "https://secure.example.com/x", 200, "web /x https")
	expect(t, r.client("secure.example.com"), "http://secure.example.com/x?q=1", 302, "https://secure.example.com/x?q=1")
	expect(t, r.client("allow.apps.test"), "https://allow.apps.test/", 200, "web / https")
	expect(t, r.client("allow.apps.test"), "http://allow.apps.test/", 200, "web / http")
	expect(t, r.client("none.apps.test"), "https://none.apps.test/", 200, "web / https")
	expect(t, r.client("none.apps.test"), "http://none.apps.test/", 503, "No route")
	// Passthrough: the client talks TLS with the backend itself.
	if got := servedNames(t, r.client("pass.apps.test"), "https://pass.apps.test/p"); got[0] != "tls-web.ns.svc" {
		t.Errorf("passthrough: served by %v, want the backend's certificate", got)
	}
	expect(t, r.client("re.apps.test"), "https://re.apps.test/r", 200, "tls-web /r")

	// A destination CA that did not sign the backend's certificate: HAProxy refuses to
	// talk to it (503), the other routes still work.
	other := newCA(t)
	reencrypt.DestinationCA = other.pem
	r.apply(t, edge, allow, none, pass, reencrypt)
	expect(t, r.client("re.apps.test"), "https://re.apps.test/r", 503, "")
	expect(t, r.client("secure.example.com"), "https://secure.example.com/x", 200, "web /x")
}

// Weighted backends share traffic by the services' weights, whatever their number of
// endpoints; weight 0 gets nothing; all weights 0 serve 503.
func TestWeights(t *testing.T) {
	r := newRouter(t)
	a := backendServer(t, "a", nil)
	b1, b2 := backendServer(t, "b", nil), backendServer(t, "b", nil)
	route := &Route{Namespace: "ns", Name: "split", Host: "split.apps.test", InsecurePolicy: InsecureNone, Options: Options{Balance: "roundrobin"},
		Services: []Service{{Name: "a", Weight: 3, Endpoints: []Endpoint{a}}, {Name: "b", Weight: 1, Endpoints: []Endpoint{b1, b2}}}}
	r.apply(t, route)
	c := r.client("split.apps.test")
	counts := map[string]int{}
	const n = 2000
	for i := 0; i < n; i++ {
		_, body := get(t, c, "http://split.apps.test/")
		counts[strings.Fields(body)[0]]++
	}
	if share := float64(counts["a"]) / n; share < 0.70 || share > 0.80 {
		t.Errorf("a's share %.3f of %v, want 0.75±0.05", share, counts)
	}
	route.Services[1].Weight = 0
	res := r.apply(t, route)
	if res.Reloaded {
		t.Error("a weight change reloaded HAProxy; want the runtime API")
	}
	for i := 0; i < 50; i++ {
		expect(t, c, "http://split.apps.test/", 200, "a ")
	}
	route.Services[0].Weight = 0
	r.apply(t, route)
	expect(t, c, "http://split.apps.test/", 503, "")
}

// Endpoints coming and going within a service's slots change servers through the
// runtime API: no reload; more endpoints than slots reload.
func TestEndpointsWithoutReload(t *testing.T) {
	r := newRouter(t)
	one, two := backendServer(t, "one", nil), backendServer(t, "two", nil)
	route := plainRoute("web", "web.apps.test", one)
	r.apply(t, route)
	c := r.client("web.apps.test")
	expect(t, c, "http://web.apps.test/", 200, "one")
	reloads, _ := r.Counts()
	route.Services[0].Endpoints = []Endpoint{two}
	if res := r.apply(t, route); res.Reloaded {
		t.Fatal("an endpoint change reloaded")
	}
	if now, runtime := r.Counts(); now != reloads || runtime != 1 {
		t.Fatalf("after an endpoint change: %d reloads (was %d), %d runtime updates", now, reloads, runtime)
	}
	for i := 0; i < 10; i++ {
		expect(t, c, "http://web.apps.test/", 200, "two")
	}
	route.Services[0].Endpoints = nil
	r.apply(t, route)
	expect(t, c, "http://web.apps.test/", 503, "")
	var many []Endpoint
	for i := 0; i < 3; i++ {
		many = append(many, backendServer(t, "many", nil))
	}
	route.Services[0].Endpoints = many
	if res := r.apply(t, route); !res.Reloaded {
		t.Error("outgrowing the slots did not reload")
	}
	expect(t, c, "http://web.apps.test/", 200, "many")
}

// A route with a broken certificate is rejected with the reason; the others are served.
func TestBadCertificateAffectsOnlyItsRoute(t *testing.T) {
	r := newRouter(t)
	web := backendServer(t, "web", nil)
	cert, _ := r.ca.issue(t, "bad.apps.test")
	_, otherKey := r.ca.issue(t, "bad.apps.test")
	bad := plainRoute("bad", "bad.apps.test", web)
	bad.Termination, bad.Certificate = Edge, append(cert, otherKey...)
	res := r.apply(t, plainRoute("good", "good.apps.test", web), bad)
	if err := res.Rejected["ns/bad"]; err == nil || !strings.Contains(err.Error(), "private key does not match public key") {
		t.Errorf("bad certificate: %v", err)
	}
	expect(t, r.client("good.apps.test"), "http://good.apps.test/", 200, "web")
}

// A route whose certificate passes Validate but HAProxy refuses (a 1024-bit RSA key, too
// small for OpenSSL 3's default security level) is found by halves and left out with
// HAProxy's reason; the other routes are served.
func TestRefusedRouteFoundByHalves(t *testing.T) {
	r := newRouter(t)
	web := backendServer(t, "web", nil)
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "weak.apps.test"}, DNSNames: []string{"weak.apps.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.ca.cert, &key.PublicKey, r.ca.key)
	if err != nil {
		t.Fatal(err)
	}
	weak := plainRoute("weak", "weak.apps.test", web)
	weak.Termination = Edge
	weak.Certificate = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	var routes []*Route
	for i := 0; i < 7; i++ {
		routes = append(routes, plainRoute(fmt.Sprintf("ok-%d", i), fmt.Sprintf("ok-%d.apps.test", i), web))
	}
	res := r.apply(t, append(routes, weak)...)
	if err := res.Rejected["ns/weak"]; err == nil || !strings.Contains(err.Error(), "HAProxy refused the route's configuration") {
		t.Fatalf("weak certificate: %v (rejected: %v)", err, res.Rejected)
	}
	if len(res.Rejected) != 1 {
		t.Errorf("rejected %v, want only ns/weak", res.Rejected)
	}
	t.Logf("why: %v", res.Rejected["ns/weak"])
	for i := 0; i < 7; i++ {
		host := fmt.Sprintf("ok-%d.apps.test", i)
		expect(t, r.client(host), "http://"+host+"/", 200, "web")
	}
}

// spec.httpHeaders.actions and the HSTS annotation reach requests and responses:
// OpenShift's dynamic values (%[req.hdr(...)] with converters) included.
func TestHeaderActions(t *testing.T) {
	r := newRouter(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("X-Powered-By", "secret")
		fmt.Fprintf(w, "team=%s host=%s drop=%q", req.Header.Get("X-Team"), req.Header.Get("X-Host-Lower"), req.Header.Get("X-Drop"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	route := plainRoute("hdr", "hdr.apps.test", Endpoint{IP: "127.0.0.1", Port: int32(l.Addr().(*net.TCPAddr).Port)})
	route.Termination = Edge
	route.Options.HSTS = "max-age=31536000;includeSubDomains"
	route.Options.RequestHeaders = []HeaderAction{{Name: "X-Team", Value: `blue "team" $HOME`}, {Name: "X-Host-Lower", Value: "%[req.hdr(host),lower]"},
		{Name: "X-Drop", Delete: true}}
	route.Options.ResponseHeaders = []HeaderAction{{Name: "X-Powered-By", Delete: true}, {Name: "X-Frame-Options", Value: "DENY"}}
	if res := r.apply(t, route); len(res.Rejected) > 0 {
		t.Fatal(res.Rejected)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://hdr.apps.test/", nil)
	req.Header.Set("X-Drop", "gone")
	resp, err := r.client("hdr.apps.test").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `team=blue "team" $HOME host=hdr.apps.test drop=""`; string(body) != want {
		t.Errorf("the backend saw %q, want %q", body, want)
	}
	if resp.Header.Get("X-Powered-By") != "" || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("Strict-Transport-Security") != "max-age=31536000;includeSubDomains" {
		t.Errorf("response headers %v", resp.Header)
	}
}
