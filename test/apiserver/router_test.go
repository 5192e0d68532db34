package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/apiserver/server"
	cliroute "github.com/kubia-dev/kubia/internal/cli/route"
	"github.com/kubia-dev/kubia/internal/router"
	"github.com/kubia-dev/kubia/internal/router/controller"
	"github.com/kubia-dev/kubia/internal/router/haproxy"
	"github.com/kubia-dev/kubia/test/harness"
)

// testRouter is kubia-router run in the test against the cluster, with HAProxy on
// loopback ports.
type testRouter struct {
	http, https, stats int
	stop               func()
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

// startRouter runs a router named default; change adjusts its options.
func startRouter(t *testing.T, change ...func(*router.Options)) *testRouter {
	t.Helper()
	binary, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (make deps installs Debian's)")
	}
	runDir, err := os.MkdirTemp("", "router-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	addBackendAddress(t)
	r := &testRouter{http: freePort(t), https: freePort(t), stats: freePort(t)}
	stats := r.stats
	opts := router.Options{
		Controller: controller.Options{Name: "default", CanonicalHostname: "router-default.apps.kubia.local"},
		Binary:     binary, Domain: "apps.kubia.local",
		HAProxy: haproxy.Settings{Dir: filepath.Join(t.TempDir(), "haproxy"), RunDir: runDir,
			HTTPBind: "127.0.0.1:" + strconv.Itoa(r.http), HTTPSBind: "127.0.0.1:" + strconv.Itoa(r.https),
			StatsBind: "127.0.0.1:" + strconv.Itoa(stats), DefaultDestinationCA: "/etc/ssl/certs/ca-certificates.crt",
			Threads: 1, MaxConn: 1000, HardStopAfter: "5s"},
	}
	for _, f := range change {
		f(&opts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- router.Run(ctx, harness.Get(t).Config, opts, ktesting.NewLogger(t, ktesting.NewConfig()))
	}()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			r.stop()
		}
	})
	harness.Eventually(t, time.Minute, "HAProxy serves /healthz", func(ctx context.Context) error {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(stats) + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return r
}

// get sends a request for host (and path) to the router, as curl --resolve does.
func (r *testRouter) get(ctx context.Context, host, path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{ServerName: host, InsecureSkipVerify: true}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(r.http)+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// expectServed waits until host+path answers 200 with a body starting with want.
func (r *testRouter) expectServed(t *testing.T, host, path, want string) {
	t.Helper()
	harness.Eventually(t, time.Minute, host+path+" served by "+want, func(ctx context.Context) error {
		code, body, err := r.get(ctx, host, path)
		if err != nil {
			return err
		}
		if code != 200 || !strings.HasPrefix(body, want) {
			return fmt.Errorf("%d %q", code, body)
		}
		return nil
	})
}

// backendAddress is where the tests' backends listen: EndpointSlices may not name loopback
// addresses, so the tests add one of the cluster's range to the loopback interface
// (198.18.64.0/24 is no node's, pod's or Service's), one per test process, so that two
// runs on one machine do not remove each other's.
var backendAddress = fmt.Sprintf("198.18.64.%d", 2+os.Getpid()%250)

// addBackendAddress puts backendAddress on the loopback interface for the test.
func addBackendAddress(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("ip", "-4", "addr", "show", "dev", "lo").CombinedOutput(); err == nil && strings.Contains(string(out), backendAddress+"/") {
		return // a killed earlier run left it: use it, remove it at the end
	}
	if out, err := exec.Command("ip", "addr", "add", backendAddress+"/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Skipf("cannot add %s to lo (root and iproute2 needed): %v %s", backendAddress, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", backendAddress+"/32", "dev", "lo").Run() })
}

// backendService is a selector-less Service in ns whose EndpointSlice names an HTTP server
// of the test on backendAddress, answering with name.
func backendService(t *testing.T, ns, name string) {
	t.Helper()
	l, err := net.Listen("tcp", backendAddress+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	port := int32(l.Addr().(*net.TCPAddr).Port)
	cs := harness.Get(t).Clientset
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := cs.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "kubia-tests"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{backendAddress}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: &port}},
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(ns).Create(t.Context(), slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// admittedCondition waits until the router wrote route ns/name's Admitted condition with
// status (and reason).
func admittedCondition(t *testing.T, ns, name string, status corev1.ConditionStatus, reason string) routev1.RouteIngressCondition {
	t.Helper()
	c := routeClient(t, "")
	var got routev1.RouteIngressCondition
	harness.Eventually(t, time.Minute, "route "+name+" Admitted="+string(status), func(ctx context.Context) error {
		var r routev1.Route
		if err := c.Get(ctx, clientKey(ns, name), &r); err != nil {
			return err
		}
		for _, in := range r.Status.Ingress {
			if in.RouterName != "default" {
				continue
			}
			for _, cond := range in.Conditions {
				if cond.Type == routev1.RouteAdmitted && cond.Status == status && cond.Reason == reason {
					got = cond
					return nil
				}
			}
			return fmt.Errorf("status %+v", in)
		}
		return fmt.Errorf("no status entry of router default: %+v", r.Status)
	})
	return got
}

// A route's generated host is served by the router from its Service's endpoints, and the
// router writes Admitted=True under its name.
func TestRouterServesRoutes(t *testing.T) {
	r := startRouter(t)
	ns := harness.Namespace(t)
	backendService(t, ns, "web")
	c := routeClient(t, "")
	route := webRoute(ns, "web", nil)
	if err := c.Create(t.Context(), route); err != nil {
		t.Fatal(err)
	}
	r.expectServed(t, route.Spec.Host, "/hello", "web /hello")
	admittedCondition(t, ns, "web", corev1.ConditionTrue, "")
	if out := harness.Kubectl(t, "get", "route", "web", "-n", ns, "--no-headers"); !strings.Contains(out, route.Spec.Host) {
		t.Errorf("kubectl get route: %q", out)
	}
	code, body, err := r.get(t.Context(), "nothing-here.apps.kubia.local", "/")
	if err != nil || code != 503 {
		t.Errorf("unknown host: %d %q %v", code, body, err)
	}

	// spec.subdomain without a host: served under the router's domain.
	sub := webRoute(ns, "sub", func(r *routev1.Route) { r.Spec.Subdomain = "shop-" + ns })
	if err := c.Create(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	if sub.Spec.Host != "" {
		t.Errorf("a route with a subdomain got host %q", sub.Spec.Host)
	}
	r.expectServed(t, "shop-"+ns+".apps.kubia.local", "/sub", "web /sub")
	admittedCondition(t, ns, "sub", corev1.ConditionTrue, "")

	// HAProxy's Prometheus exporter and health endpoint, on the stats port.
	for path, want := range map[string]string{"/metrics": "haproxy_process_", "/healthz": ""} {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(r.stats) + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(data), want) {
			t.Errorf("GET %s: %d %.200q", path, resp.StatusCode, data)
		}
	}
}

// The oldest route of a host gives it to its namespace: another namespace's route for it
// is not admitted whatever its path, with OpenShift's reason and message; deleting the
// owner admits it.
func TestRouterHostOwnership(t *testing.T) {
	r := startRouter(t)
	nsA, nsB := harness.Namespace(t), harness.Namespace(t)
	backendService(t, nsA, "a")
	backendService(t, nsB, "b")
	c := routeClient(t, "")
	const host = "shared.example.com"
	owner := webRoute(nsA, "a", func(r *routev1.Route) { r.Spec.Host, r.Spec.To.Name = host, "a" })
	if err := c.Create(t.Context(), owner); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, nsA, "a", corev1.ConditionTrue, "")
	time.Sleep(1100 * time.Millisecond) // creation times have seconds: make B's newer
	claimer := webRoute(nsB, "b", func(r *routev1.Route) { r.Spec.Host, r.Spec.Path, r.Spec.To.Name = host, "/b", "b" })
	if err := c.Create(t.Context(), claimer); err != nil {
		t.Fatal(err)
	}
	cond := admittedCondition(t, nsB, "b", corev1.ConditionFalse, "HostAlreadyClaimed")
	if want := "a route in another namespace holds " + host + " and is older than b"; cond.Message != want {
		t.Errorf("message %q, want %q", cond.Message, want)
	}
	r.expectServed(t, host, "/b", "a /b") // A's route serves every path of its host
	out := harness.Kubectl(t, "get", "route", "b", "-n", nsB, "--no-headers")
	if !strings.Contains(out, "HostAlreadyClaimed") {
		t.Errorf("kubectl get route b: %q", out)
	}
	if err := c.Delete(t.Context(), owner); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, nsB, "b", corev1.ConditionTrue, "")
	r.expectServed(t, host, "/b", "b /b")
}

// With --allow-wildcard-routes, a wildcardPolicy Subdomain route serves every name of its
// domain and claims it for its namespace: another namespace's newer route under it is not
// admitted, with OpenShift's message; a route without the flag is refused.
func TestRouterWildcardRoutes(t *testing.T) {
	r := startRouter(t, func(o *router.Options) { o.Controller.Admission.AllowWildcards = true })
	nsA, nsB := harness.Namespace(t), harness.Namespace(t)
	backendService(t, nsA, "a")
	backendService(t, nsB, "b")
	c := routeClient(t, "")
	domain := "wild-" + nsA + ".example.com"
	wild := webRoute(nsA, "a", func(r *routev1.Route) {
		r.Spec.Host, r.Spec.To.Name, r.Spec.WildcardPolicy = "www."+domain, "a", routev1.WildcardPolicySubdomain
	})
	if err := c.Create(t.Context(), wild); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, nsA, "a", corev1.ConditionTrue, "")
	r.expectServed(t, "anything."+domain, "/x", "a /x")
	var got routev1.Route
	if err := c.Get(t.Context(), clientKey(nsA, "a"), &got); err != nil {
		t.Fatal(err)
	}
	if p := got.Status.Ingress[0].WildcardPolicy; p != routev1.WildcardPolicySubdomain {
		t.Errorf("status wildcardPolicy %q", p)
	}

	time.Sleep(1100 * time.Millisecond) // creation times have seconds: make B's newer
	under := webRoute(nsB, "b", func(r *routev1.Route) { r.Spec.Host, r.Spec.To.Name = "shop."+domain, "b" })
	if err := c.Create(t.Context(), under); err != nil {
		t.Fatal(err)
	}
	cond := admittedCondition(t, nsB, "b", corev1.ConditionFalse, "HostAlreadyClaimed")
	if want := "a route in another namespace holds host shop." + domain; cond.Message != want {
		t.Errorf("message %q, want %q", cond.Message, want)
	}
	r.expectServed(t, "shop."+domain, "/", "a /")
	// In the wildcard's namespace, an exact host of the domain is served beside it.
	exact := webRoute(nsA, "exact", func(r *routev1.Route) { r.Spec.Host, r.Spec.To.Name = "api."+domain, "a" })
	if err := c.Create(t.Context(), exact); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, nsA, "exact", corev1.ConditionTrue, "")

	if err := c.Delete(t.Context(), wild); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, nsB, "b", corev1.ConditionTrue, "")
	r.expectServed(t, "shop."+domain, "/", "b /")
}

// A route's spec.tls.externalCertificate is served from its Secret, which the router
// follows: an updated certificate is served, a deleted secret unadmits the route
// (ExternalCertificateSecretDeleted) and recreating it admits the route again.
func TestRouterExternalCertificate(t *testing.T) {
	r := startRouter(t)
	ns := harness.Namespace(t)
	backendService(t, ns, "web")
	const host = "ext.example.com"
	// The API server admits the route only if kubia-router may read the secret.
	grant(t, ns, server.DefaultRouterServiceAccount, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
		ResourceNames: []string{"site-tls"}, Verbs: []string{"get", "list", "watch"}})
	cs := harness.Get(t).Clientset
	tlsSecret := func(cert, key string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "site-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{corev1.TLSCertKey: []byte(cert), corev1.TLSPrivateKeyKey: []byte(key)}}
	}
	first, firstKey := selfSigned(t, host)
	secret, err := cs.CoreV1().Secrets(ns).Create(t.Context(), tlsSecret(first, firstKey), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	route := webRoute(ns, "web", func(r *routev1.Route) {
		r.Spec.Host = host
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, ExternalCertificate: &routev1.LocalObjectReference{Name: "site-tls"}}
	})
	if err := routeClient(t, "").Create(t.Context(), route); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, ns, "web", corev1.ConditionTrue, "")
	r.expectCertificate(t, host, first)

	second, secondKey := selfSigned(t, host)
	secret.Data = tlsSecret(second, secondKey).Data
	if _, err := cs.CoreV1().Secrets(ns).Update(t.Context(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.expectCertificate(t, host, second)

	if err := cs.CoreV1().Secrets(ns).Delete(t.Context(), "site-tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cond := admittedCondition(t, ns, "web", corev1.ConditionFalse, "ExternalCertificateSecretDeleted")
	if want := `secret "site-tls" deleted for route "` + ns + `/web"`; cond.Message != want {
		t.Errorf("message %q, want %q", cond.Message, want)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), tlsSecret(first, firstKey), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, ns, "web", corev1.ConditionTrue, "")
	r.expectCertificate(t, host, first)
}

// expectCertificate waits until the router's HTTPS port serves certPEM for host (SNI).
func (r *testRouter) expectCertificate(t *testing.T, host, certPEM string) {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	harness.Eventually(t, time.Minute, host+"'s certificate served", func(ctx context.Context) error {
		d := tls.Dialer{Config: &tls.Config{ServerName: host, InsecureSkipVerify: true}}
		conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(r.https))
		if err != nil {
			return err
		}
		defer conn.Close()
		served := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
		if string(served.Raw) != string(block.Bytes) {
			return fmt.Errorf("served the certificate of %v, serial %s", served.DNSNames, served.SerialNumber)
		}
		return nil
	})
}

// A route whose certificate does not match its key is not admitted
// (ExtendedValidationFailed); the router keeps serving the others.
func TestRouterBadCertificate(t *testing.T) {
	r := startRouter(t)
	ns := harness.Namespace(t)
	backendService(t, ns, "web")
	c := routeClient(t, "")
	good := webRoute(ns, "good", nil)
	if err := c.Create(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	r.expectServed(t, good.Spec.Host, "/", "web /")
	cert, _ := selfSigned(t, "bad.apps.kubia.local")
	_, otherKey := selfSigned(t, "bad.apps.kubia.local")
	bad := webRoute(ns, "bad", func(r *routev1.Route) {
		r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, Certificate: cert, Key: otherKey}
	})
	if err := c.Create(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	cond := admittedCondition(t, ns, "bad", corev1.ConditionFalse, "ExtendedValidationFailed")
	if !strings.Contains(cond.Message, "private key does not match public key") {
		t.Errorf("message %q", cond.Message)
	}
	r.expectServed(t, good.Spec.Host, "/", "web /")
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// selfSigned returns a self-signed certificate for host and its key, as PEM.
func selfSigned(t *testing.T, host string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// kubia expose service and kubia create route make the Routes oc makes, with its output;
// kubia route describe explains a route another namespace's older route keeps out.
func TestRouteCommands(t *testing.T) {
	r := startRouter(t)
	ns, other := harness.Namespace(t), harness.Namespace(t)
	backendService(t, ns, "web")
	backendService(t, other, "web")
	out, err := runCommand(t, cliroute.NewExposeCommand, "service", "web", "-n", ns)
	if err != nil || out != "route.route.openshift.io/web exposed\n" {
		t.Fatalf("kubia expose service: %q %v", out, err)
	}
	var exposed routev1.Route
	if err := routeClient(t, "").Get(t.Context(), clientKey(ns, "web"), &exposed); err != nil {
		t.Fatal(err)
	}
	if exposed.Spec.Port == nil || exposed.Spec.Port.TargetPort.String() != "http" || exposed.Spec.Host != "web-"+ns+".apps.kubia.local" {
		t.Errorf("exposed route: %+v", exposed.Spec)
	}
	r.expectServed(t, exposed.Spec.Host, "/", "web /")

	cert, key := selfSigned(t, "secure.example.com")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for path, data := range map[string]string{certFile: cert, keyFile: key} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err = runCommand(t, cliroute.NewCreateCommand, "route", "edge", "secure", "--service", "web", "-n", ns,
		"--hostname", "secure.example.com", "--cert", certFile, "--key", keyFile, "--insecure-policy", "Redirect")
	if err != nil || out != "route.route.openshift.io/secure created\n" {
		t.Fatalf("kubia create route edge: %q %v", out, err)
	}
	admittedCondition(t, ns, "secure", corev1.ConditionTrue, "")
	out, err = runCommand(t, cliroute.NewCreateCommand, "route", "passthrough", "pass", "--service", "web", "-n", ns, "--port", "8443", "-o", "yaml",
		"--hostname", "pass.example.com")
	if err != nil || !strings.Contains(out, "termination: passthrough") || !strings.Contains(out, "targetPort: 8443") {
		t.Fatalf("kubia create route passthrough: %q %v", out, err)
	}
	if _, err := runCommand(t, cliroute.NewCreateCommand, "route", "edge", "--service", "web", "-n", ns); err == nil ||
		!strings.Contains(err.Error(), `routes.route.openshift.io "web" already exists`) {
		t.Errorf("an edge route named after the exposed service's route: %v", err)
	}

	time.Sleep(1100 * time.Millisecond) // creation times have seconds: other's route is newer
	if _, err := runCommand(t, cliroute.NewExposeCommand, "service", "web", "-n", other, "--hostname", exposed.Spec.Host, "--path", "/mine"); err != nil {
		t.Fatal(err)
	}
	admittedCondition(t, other, "web", corev1.ConditionFalse, "HostAlreadyClaimed")
	out, err = runCommand(t, cliroute.NewRouteCommand, "describe", "web", "-n", other)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NOT admitted: HostAlreadyClaimed: a route in another namespace holds " + exposed.Spec.Host + " and is older than web",
		"Routes of " + exposed.Spec.Host + ", oldest first:",
		"  " + ns + "/web  created ",
		"  " + other + "/web  created ",
		"path /mine  <- this route",
		"The oldest route of a host (by creation time, then UID) gives the host to its namespace",
		"web [1 ready endpoints]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kubia route describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, ns+"/web") > strings.Index(out, other+"/web") {
		t.Errorf("claimants not oldest first:\n%s", out)
	}
}

// A restarted router applies what it finds once: HAProxy starts, and neither the routes'
// status (already written by the router before) nor the informers' initial events cause
// a reload.
func TestRouterRestartCausesNoReloads(t *testing.T) {
	binary, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (make deps installs Debian's)")
	}
	addBackendAddress(t)
	ns := harness.Namespace(t)
	backendService(t, ns, "web")
	c := routeClient(t, "")
	// The router serves every namespace: wait until the routes of earlier tests' deleted
	// namespaces are gone, whose deletions would be changes to apply.
	harness.Eventually(t, 2*time.Minute, "no routes of other tests left", func(ctx context.Context) error {
		var all routev1.RouteList
		if err := c.List(ctx, &all); err != nil {
			return err
		}
		if len(all.Items) > 0 {
			return fmt.Errorf("%d routes left, in %s first", len(all.Items), all.Items[0].Namespace)
		}
		return nil
	})
	var hosts []string
	for i := 0; i < 20; i++ {
		r := webRoute(ns, fmt.Sprintf("web-%d", i), nil)
		if err := c.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, r.Spec.Host)
	}
	run := func() (*haproxy.Manager, *testRouter, func()) {
		runDir, err := os.MkdirTemp("", "router-")
		if err != nil {
			t.Fatal(err)
		}
		tr := &testRouter{http: freePort(t), https: freePort(t)}
		m := &haproxy.Manager{Binary: binary, Log: ktesting.NewLogger(t, ktesting.NewConfig()), Settings: haproxy.Settings{
			Dir: filepath.Join(t.TempDir(), "haproxy"), RunDir: runDir, DefaultCertificate: writeDefaultCert(t),
			HTTPBind: "127.0.0.1:" + strconv.Itoa(tr.http), HTTPSBind: "127.0.0.1:" + strconv.Itoa(tr.https),
			StatsBind: "127.0.0.1:" + strconv.Itoa(freePort(t)), Threads: 1, HardStopAfter: "5s"}}
		if err := os.MkdirAll(m.Settings.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		ctrl, err := controller.New(harness.Get(t).Config, m, controller.Options{Name: "default"}, ktesting.NewLogger(t, ktesting.NewConfig()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ctrl.Run(ctx) }()
		return m, tr, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			_ = m.Stop()
			os.RemoveAll(runDir)
		}
	}
	_, first, stop := run()
	for _, h := range hosts {
		first.expectServed(t, h, "/", "web /")
	}
	for i := range hosts {
		admittedCondition(t, ns, fmt.Sprintf("web-%d", i), corev1.ConditionTrue, "")
	}
	stop()

	m, second, stop := run()
	defer stop()
	for _, h := range hosts {
		second.expectServed(t, h, "/", "web /")
	}
	time.Sleep(5 * time.Second)
	if reloads, runtime := m.Counts(); reloads != 1 || runtime != 0 {
		t.Errorf("after a restart: %d starts and reloads, %d runtime updates; want 1 and 0", reloads, runtime)
	}
}

// writeDefaultCert writes a self-signed certificate and key as one PEM file.
func writeDefaultCert(t *testing.T) string {
	t.Helper()
	cert, key := selfSigned(t, "*.apps.kubia.local")
	path := filepath.Join(t.TempDir(), "default.pem")
	if err := os.WriteFile(path, []byte(cert+key), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
