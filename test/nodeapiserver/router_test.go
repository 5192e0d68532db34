package nodeapiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/test/gitserver"
	"github.com/kubia-dev/kubia/test/harness"
)

// The chart's kubia-router on the node: real nginx and TLS servers in pods behind Routes,
// reached on the node's ports 80 and 443 as any client on this machine reaches them.
func TestRouterOnNode(t *testing.T) {
	harness.RequireNode(t)
	installChart(t)
	waitRouterReady(t)
	ns := harness.Namespace(t)
	ca := newTestCA(t)
	routes := routeClient(t)

	nginxBackend(t, ns, "nginx")
	echoBackend(t, ns, "web", nil)
	echoBackend(t, ns, "api", nil)
	echoBackend(t, ns, "tls", ca.serverTLS(t, "tls."+ns+".svc", "pass.example.com"))
	echoBackend(t, ns, "canary", nil)

	t.Run("generated host, curl --resolve", func(t *testing.T) {
		r := createRoute(t, routes, ns, "nginx", nil)
		if want := "nginx-" + ns + ".apps.kubia.local"; r.Spec.Host != want {
			t.Fatalf("host %q, want %q", r.Spec.Host, want)
		}
		harness.Eventually(t, timeout, "nginx through the router", func(ctx context.Context) error {
			out, err := exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "5",
				"--resolve", r.Spec.Host+":80:"+localcluster.DefaultNodeIP, "http://"+r.Spec.Host+"/").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 200") || !strings.Contains(strings.ToLower(string(out)), "server: nginx") {
				return fmt.Errorf("curl: %v\n%s", err, out)
			}
			return nil
		})
	})
	t.Run("paths", func(t *testing.T) {
		web := createRoute(t, routes, ns, "site", func(r *routev1.Route) { r.Spec.To.Name = "web"; r.Spec.Port = httpPort })
		createRoute(t, routes, ns, "site-api", func(r *routev1.Route) {
			r.Spec.Host, r.Spec.Path, r.Spec.To.Name, r.Spec.Port = web.Spec.Host, "/api", "api", httpPort
		})
		c := routerClient(nil)
		expectServed(t, c, "http://"+web.Spec.Host+"/api/v1", 200, "api /api/v1")
		expectServed(t, c, "http://"+web.Spec.Host+"/apis", 200, "web /apis")
	})
	t.Run("edge TLS with SNI and the insecure policies", func(t *testing.T) {
		edgeCert := ca.issue(t, "edge.example.com", []string{"edge.example.com"})
		for _, p := range []struct {
			host   string
			policy routev1.InsecureEdgeTerminationPolicyType
		}{{"edge.example.com", routev1.InsecureEdgeTerminationPolicyRedirect}, {"allow.example.com", routev1.InsecureEdgeTerminationPolicyAllow},
			{"none.example.com", routev1.InsecureEdgeTerminationPolicyNone}} {
			createRoute(t, routes, ns, strings.Split(p.host, ".")[0], func(r *routev1.Route) {
				r.Spec.Host, r.Spec.To.Name, r.Spec.Port = p.host, "web", httpPort
				r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, InsecureEdgeTerminationPolicy: p.policy}
				if p.host == "edge.example.com" {
					r.Spec.TLS.Certificate, r.Spec.TLS.Key, r.Spec.TLS.CACertificate = string(edgeCert.cert), string(edgeCert.key), string(ca.certPEM)
				}
			})
		}
		verified := routerClient(ca.pool())
		expectServed(t, verified, "https://edge.example.com/x", 200, "web /x https")
		expectServed(t, verified, "http://edge.example.com/x?y=1", 302, "https://edge.example.com/x?y=1")
		insecure := routerClient(nil) // the router's default certificate is self-signed
		expectServed(t, insecure, "https://allow.example.com/", 200, "web / https")
		expectServed(t, insecure, "http://allow.example.com/", 200, "web / http")
		expectServed(t, insecure, "https://none.example.com/", 200, "web / https")
		expectServed(t, insecure, "http://none.example.com/", 503, "")
	})
	t.Run("externalCertificate, read with a Role the user grants the router", func(t *testing.T) { externalCertificate(t, routes, ns, ca) })
	t.Run("passthrough to a TLS server", func(t *testing.T) {
		createRoute(t, routes, ns, "pass", func(r *routev1.Route) {
			r.Spec.Host, r.Spec.To.Name, r.Spec.Port = "pass.example.com", "tls", httpsPort
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
		})
		// The client verifies the pod's own certificate: the router did not terminate.
		expectServed(t, routerClient(ca.pool()), "https://pass.example.com/p", 200, "tls /p")
	})
	t.Run("reencrypt verified with destinationCACertificate", func(t *testing.T) {
		createRoute(t, routes, ns, "re", func(r *routev1.Route) {
			r.Spec.Host, r.Spec.To.Name, r.Spec.Port = "re.example.com", "tls", httpsPort
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt, DestinationCACertificate: string(ca.certPEM)}
		})
		expectServed(t, routerClient(nil), "https://re.example.com/r", 200, "tls /r https")
		other := newTestCA(t)
		createRoute(t, routes, ns, "re-wrong-ca", func(r *routev1.Route) {
			r.Spec.Host, r.Spec.To.Name, r.Spec.Port = "re-wrong.example.com", "tls", httpsPort
			r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt, DestinationCACertificate: string(other.certPEM)}
		})
		expectServed(t, routerClient(nil), "https://re-wrong.example.com/r", 503, "")
	})
	t.Run("weighted 3:1", func(t *testing.T) { weightedSplit(t, routes, ns) })
	t.Run("200 route changes under load", func(t *testing.T) { churnUnderLoad(t, routes, ns) })
	t.Run("an Ingress, and a Website's spec.ingress", func(t *testing.T) { ingressesServed(t, routes, ns) })
	t.Run("router pod killed", func(t *testing.T) {
		r := createRoute(t, routes, ns, "survivor", func(r *routev1.Route) { r.Spec.To.Name = "web"; r.Spec.Port = httpPort })
		c := routerClient(nil)
		expectServed(t, c, "http://"+r.Spec.Host+"/", 200, "web /")
		pod := routerPod(t)
		restarts := pod.Status.ContainerStatuses[0].RestartCount
		harness.KillContainer(t, chartNamespace, pod.Name, "kubia-router")
		harness.Eventually(t, timeout, "the router container restarted", func(ctx context.Context) error {
			if p := routerPod(t); p.Status.ContainerStatuses[0].RestartCount == restarts {
				return fmt.Errorf("restarts still %d", restarts)
			}
			return nil
		})
		expectServed(t, c, "http://"+r.Spec.Host+"/", 200, "web /")
	})
}

// ingressesServed: an Ingress (of no class: the chart's kubia class is the default) becomes
// a Route, which the router serves and reports in the Ingress's status; a Website's
// spec.ingress is served the same way.
func ingressesServed(t *testing.T, routes client.Client, ns string) {
	c := harness.Get(t).Client
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}, Spec: networkingv1.IngressSpec{
		Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	if err := c.Create(t.Context(), ing); err != nil {
		t.Fatal(err)
	}
	expectServed(t, routerClient(nil), "http://shop.example.com/cart", 200, "web /cart")
	harness.WaitFor(t, ing, timeout, "the Ingress reports the router", func() error {
		if lb := ing.Status.LoadBalancer.Ingress; len(lb) != 1 || lb[0].Hostname != "router-default.apps.kubia.local" {
			return fmt.Errorf("status %+v", ing.Status.LoadBalancer)
		}
		return nil
	})
	var list routev1.RouteList
	if err := routes.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, r := range list.Items {
		if ref := metav1.GetControllerOf(&r); ref != nil && ref.Name == "shop" {
			if r.Spec.Port == nil || r.Spec.Port.TargetPort.String() != "http" || !strings.HasPrefix(r.Name, "shop-") {
				t.Errorf("the Ingress's route: %s %+v", r.Name, r.Spec)
			}
		}
	}

	repo := gitserver.OnNode(t).Repo(t, "site")
	repo.Commit(t, map[string]string{"index.html": "<h1>served by the router</h1>"}, "first")
	site := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: repo.URL, Ingress: &extensionsv1.WebsiteIngress{Host: "site.example.com"}}}
	if err := c.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	expectServed(t, routerClient(nil), "http://site.example.com/", 200, "<h1>served by the router</h1>")
}

// externalCertificate: a route naming a TLS Secret is refused until the chart's router
// service account may read that one secret, as OpenShift asks; then the router, with
// only that grant, serves the secret's certificate.
func externalCertificate(t *testing.T, routes client.Client, ns string, ca *testCA) {
	cs := harness.Get(t).Clientset
	issued := ca.issue(t, "ext.example.com", []string{"ext.example.com"})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ext-tls", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: issued.cert, corev1.TLSPrivateKeyKey: issued.key}}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	route := &routev1.Route{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ext"}, Spec: routev1.RouteSpec{
		Host: "ext.example.com", To: routev1.RouteTargetReference{Kind: "Service", Name: "web"}, Port: httpPort,
		TLS: &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, ExternalCertificate: &routev1.LocalObjectReference{Name: "ext-tls"}}}}
	err := routes.Create(t.Context(), route.DeepCopy())
	if err == nil || !strings.Contains(err.Error(), "router serviceaccount does not have permission to get this secret") {
		t.Fatalf("a route whose secret the router may not read: %v", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "router-reads-ext-tls", Namespace: ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"ext-tls"}, Verbs: []string{"get", "list", "watch"}}}}
	if _, err := cs.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "kubia-router", Namespace: chartNamespace}}}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, "the route accepted once the router may read its secret", func(ctx context.Context) error {
		return routes.Create(ctx, route.DeepCopy())
	})
	// Verified against the test's CA: the router's default certificate would not be.
	expectServed(t, routerClient(ca.pool()), "https://ext.example.com/e", 200, "web /e https")
}

var (
	httpPort  = &routev1.RoutePort{TargetPort: intstr.FromString("http")}
	httpsPort = &routev1.RoutePort{TargetPort: intstr.FromString("https")}
)

// weightedSplit: over 2000 requests, 3:1 weights give 75/25 within 5 points; weight 0
// takes no new traffic; all weights 0 answer 503.
func weightedSplit(t *testing.T, routes client.Client, ns string) {
	r := createRoute(t, routes, ns, "split", func(r *routev1.Route) {
		r.Spec.To, r.Spec.Port = routev1.RouteTargetReference{Kind: "Service", Name: "web", Weight: ptr.To[int32](3)}, httpPort
		r.Spec.AlternateBackends = []routev1.RouteTargetReference{{Kind: "Service", Name: "canary", Weight: ptr.To[int32](1)}}
	})
	c := routerClient(nil)
	url := "http://" + r.Spec.Host + "/"
	harness.Eventually(t, timeout, "both backends served", func(ctx context.Context) error {
		seen := map[string]bool{}
		for i := 0; i < 40; i++ {
			_, body, err := get(ctx, c, url)
			if err != nil {
				return err
			}
			seen[strings.Fields(body + " x")[0]] = true
		}
		if !seen["web"] || !seen["canary"] {
			return fmt.Errorf("served by %v", seen)
		}
		return nil
	})
	counts := map[string]int{}
	const n = 2000
	for i := 0; i < n; i++ {
		code, body, err := get(t.Context(), c, url)
		if err != nil || code != 200 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
		counts[strings.Fields(body)[0]]++
	}
	if share := float64(counts["web"]) / n; share < 0.70 || share > 0.80 {
		t.Errorf("web's share %.3f (%v), want 0.75 ± 0.05", share, counts)
	}
	t.Logf("3:1 over %d requests: %v", n, counts)

	setWeights(t, routes, r, 1, 0)
	harness.Eventually(t, timeout, "canary at weight 0 gets nothing", func(ctx context.Context) error {
		for i := 0; i < 50; i++ {
			if _, body, err := get(ctx, c, url); err != nil || !strings.HasPrefix(body, "web ") {
				return fmt.Errorf("request %d: %q %v", i, body, err)
			}
		}
		return nil
	})
	setWeights(t, routes, r, 0, 0)
	expectServed(t, c, url, 503, "")
}

func setWeights(t *testing.T, routes client.Client, r *routev1.Route, to, alternate int32) {
	t.Helper()
	if err := routes.Get(t.Context(), client.ObjectKeyFromObject(r), r); err != nil {
		t.Fatal(err)
	}
	r.Spec.To.Weight, r.Spec.AlternateBackends[0].Weight = &to, &alternate
	if err := routes.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

// churnUnderLoad creates, updates and deletes 200 routes while clients, with and without
// keep-alive, request three other routes: none of their requests may fail.
func churnUnderLoad(t *testing.T, routes client.Client, ns string) {
	var steady []string
	for i := 0; i < 3; i++ {
		r := createRoute(t, routes, ns, "steady-"+strconv.Itoa(i), func(r *routev1.Route) { r.Spec.To.Name = "web"; r.Spec.Port = httpPort })
		expectServed(t, routerClient(nil), "http://"+r.Spec.Host+"/", 200, "web /")
		steady = append(steady, "http://"+r.Spec.Host+"/")
	}
	ctx, stop := context.WithCancel(t.Context())
	var requests, failures atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := routerClient(nil)
		if i%2 == 0 {
			c.Transport.(*http.Transport).DisableKeepAlives = false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ctx.Err() == nil; j++ {
				code, body, err := get(ctx, c, steady[j%len(steady)])
				if ctx.Err() != nil {
					return
				}
				requests.Add(1)
				if err != nil || code != 200 || !strings.HasPrefix(body, "web ") {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %q %v", code, body, err))
				}
			}
		}()
	}
	ops := 0
	for i := 0; i < 80; i++ { // 80 creates
		createRoute(t, routes, ns, "churn-"+strconv.Itoa(i), func(r *routev1.Route) { r.Spec.To.Name = "api"; r.Spec.Port = httpPort })
		ops++
	}
	for i := 0; i < 60; i++ { // 60 updates: a new path each, a structural change
		var r routev1.Route
		if err := routes.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "churn-" + strconv.Itoa(i)}, &r); err != nil {
			t.Fatal(err)
		}
		r.Spec.Path = "/v" + strconv.Itoa(i)
		if err := routes.Update(t.Context(), &r); err != nil {
			t.Fatal(err)
		}
		ops++
	}
	for i := 20; i < 80; i++ { // 60 deletes
		if err := routes.Delete(t.Context(), &routev1.Route{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "churn-" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
		ops++
	}
	// The last changes applied: a route updated early serves its new path.
	var last routev1.Route
	if err := routes.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "churn-19"}, &last); err != nil {
		t.Fatal(err)
	}
	expectServed(t, routerClient(nil), "http://"+last.Spec.Host+"/v19", 200, "api /v19")
	time.Sleep(2 * time.Second)
	stop()
	wg.Wait()
	t.Logf("%d route changes; %d requests to the untouched routes, %d failed", ops, requests.Load(), failures.Load())
	if failures.Load() > 0 || requests.Load() < 100 {
		t.Errorf("%d of %d requests failed (first: %v)", failures.Load(), requests.Load(), firstFailure.Load())
	}
}

func routeClient(t testing.TB) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := routev1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(harness.Get(t).Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func createRoute(t testing.TB, routes client.Client, ns, name string, mutate func(*routev1.Route)) *routev1.Route {
	t.Helper()
	r := &routev1.Route{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: routev1.RouteSpec{To: routev1.RouteTargetReference{Kind: "Service", Name: name}}}
	if mutate != nil {
		mutate(r)
	}
	if err := routes.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func routerPod(t *testing.T) corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := harness.Get(t).Client.List(t.Context(), &pods, client.InNamespace(chartNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "kubia-router"}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || len(pods.Items[0].Status.ContainerStatuses) == 0 {
		t.Fatalf("router pods: %d", len(pods.Items))
	}
	return pods.Items[0]
}

func waitRouterReady(t testing.TB) {
	t.Helper()
	harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-router", Namespace: chartNamespace}}, timeout,
		"kubia-router ready", func() error { return nil })
	harness.Eventually(t, timeout, "kubia-router answers on the node's port 80", func(ctx context.Context) error {
		code, _, err := get(ctx, routerClient(nil), "http://no-route.apps.kubia.local/")
		if err == nil && code != 503 {
			err = fmt.Errorf("answered %d, want 503", code)
		}
		return err
	})
}

// routerClient sends requests for any host to the node's ports 80 and 443, as `curl
// --resolve` does, verifying TLS servers with roots (none: not verified). It follows no
// redirects.
func routerClient(roots *x509.CertPool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, net.JoinHostPort(localcluster.DefaultNodeIP, port))
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// get returns the status and body of a GET; a redirect's body is its Location.
func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusFound {
		return resp.StatusCode, resp.Header.Get("Location"), err
	}
	return resp.StatusCode, string(body), err
}

// expectServed waits until url answers code with a body starting with want.
func expectServed(t testing.TB, c *http.Client, url string, code int, want string) {
	t.Helper()
	harness.Eventually(t, timeout, fmt.Sprintf("%s answers %d %q", url, code, want), func(ctx context.Context) error {
		got, body, err := get(ctx, c, url)
		if err != nil {
			return err
		}
		if got != code || !strings.HasPrefix(body, want) {
			return fmt.Errorf("%d %q", got, body)
		}
		return nil
	})
}

// nginxBackend runs the nginx image behind Service name (port http, 80 → 8080).
func nginxBackend(t testing.TB, ns, name string) {
	t.Helper()
	deployBackend(t, ns, name, corev1.Container{Name: "nginx", Image: images.Ref("nginx"), ImagePullPolicy: corev1.PullNever,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}, nil)
}

// echoBackend runs test/echoserver as name behind Service name: port http (80 → 8080)
// and, with a certificate, https (443 → 8443) serving it.
func echoBackend(t testing.TB, ns, name string, cert *corev1.Secret) {
	t.Helper()
	c := corev1.Container{Name: "echo", Image: images.Ref("echoserver"), ImagePullPolicy: corev1.PullNever,
		Env:   []corev1.EnvVar{{Name: "NAME", Value: name}},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	if cert != nil {
		cert.Namespace, cert.Name = ns, name+"-tls"
		if err := harness.Get(t).Client.Create(t.Context(), cert); err != nil {
			t.Fatal(err)
		}
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "https", ContainerPort: 8443})
		c.VolumeMounts = []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/echoserver/tls", ReadOnly: true}}
	}
	deployBackend(t, ns, name, c, cert)
}

func deployBackend(t testing.TB, ns, name string, c corev1.Container, cert *corev1.Secret) {
	t.Helper()
	labels := map[string]string{"app": name}
	pod := corev1.PodSpec{Containers: []corev1.Container{c},
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534)}}
	if c.Name == "nginx" {
		pod.SecurityContext.RunAsUser = nil // the image's www-data
	}
	ports := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}
	if cert != nil {
		pod.Volumes = []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: cert.Name}}}}
		ports = append(ports, corev1.ServicePort{Name: "https", Port: 443, TargetPort: intstr.FromString("https")})
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod}}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{Selector: labels, Ports: ports}}
	for _, o := range []client.Object{d, svc} {
		if err := harness.Get(t).Client.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	harness.WaitFor(t, d, timeout, name+" available", func() error { return readyReplicas(d.Status.AvailableReplicas, 1) })
}

// serverTLS is a kubernetes.io/tls Secret of a certificate for names.
func (ca *testCA) serverTLS(t testing.TB, names ...string) *corev1.Secret {
	p := ca.issue(t, names[0], names)
	return &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": p.cert, "tls.key": p.key}}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}
