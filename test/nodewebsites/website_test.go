package nodewebsites

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/gitserver"
	"github.com/kubia-dev/kubia/test/harness"
)

// runController runs kubia-controller-manager's controllers in the test process for ns.
func runController(t *testing.T, ns string) {
	t.Helper()
	harness.StartControllers(t, manager.Options{
		Images:     website.Images{WebServer: images.Ref("nginx"), Sync: images.Ref("kubia-sync")},
		Namespaces: []string{ns},
	})
}

// nodeGitServer serves Git repositories on the node address, where pods reach it.
func nodeGitServer(t *testing.T) *gitserver.Server { return gitserver.OnNode(t) }

// A Website for a repository on a Git server here is served on its NodePort, follows new
// commits within the sync interval, and at once when the webhook is called (on the site's
// node port, and on its cluster IP); it holds one node port; with an Ingress its URL is
// the host's; deleting the Website closes the port.
func TestWebsiteEndToEnd(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	runController(t, ns)
	srv := nodeGitServer(t)
	repo := srv.Repo(t, "site")
	first := repo.Commit(t, map[string]string{"index.html": "<h1>first version</h1>"}, "first")

	c := harness.Get(t).Client
	site := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: ns},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: repo.URL, SyncInterval: &metav1.Duration{Duration: 5 * time.Second}},
	}
	if err := c.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	url := waitReady(t, site)
	harness.Eventually(t, timeout, "the site serves the repository's index.html", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, url+"/", "first version")
	})
	waitCommit(t, site, first)

	second := repo.Commit(t, map[string]string{"index.html": "<h1>second version</h1>"}, "second")
	harness.Eventually(t, timeout, "a pushed commit is served within the sync interval", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, url+"/", "second version")
	})
	waitCommit(t, site, second)

	harness.Kubectl(t, "patch", "website", "site", "-n", ns, "--type=merge", "-p", `{"spec":{"syncInterval":"24h"}}`)
	waitReady(t, site) // the rolled-out pods poll once a day from now on
	repo.Commit(t, map[string]string{"index.html": "<h1>third version</h1>"}, "third")
	// The webhook is on the site's own port (nginx passes it to kubia-sync), where Git
	// hosts reach it wherever the site is published.
	harness.Eventually(t, timeout, "the webhook makes the new commit served at once", func(ctx context.Context) error {
		if err := post(ctx, url+syncstatus.SiteWebhookPath); err != nil {
			return err
		}
		return harness.ExpectPage(ctx, url+"/", "third version")
	})
	// Inside the cluster, through the Service's cluster IP (this machine routes cluster
	// IPs through the node).
	repo.Commit(t, map[string]string{"index.html": "<h1>fourth version</h1>"}, "fourth")
	svc := &corev1.Service{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: website.ChildName(site)}, svc); err != nil {
		t.Fatal(err)
	}
	webhook := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port))) + syncstatus.SiteWebhookPath
	harness.Eventually(t, timeout, "the webhook through the cluster IP makes the new commit served at once", func(ctx context.Context) error {
		if err := post(ctx, webhook); err != nil {
			return err
		}
		return harness.ExpectPage(ctx, url+"/", "fourth version")
	})
	if code := status(t, http.MethodGet, url+syncstatus.SiteWebhookPath); code != http.StatusForbidden {
		t.Errorf("GET %s = %d, want 403: the webhook takes POST only", syncstatus.SiteWebhookPath, code)
	}
	if n := nodePorts(t, ns); n != 1 {
		t.Errorf("the NodePort Website holds %d node ports, want 1", n)
	}

	// With an Ingress, the URL is the host's once the site is served (no ingress
	// controller runs here: only the status is checked).
	harness.Kubectl(t, "patch", "website", "site", "-n", ns, "--type=merge", "-p", `{"spec":{"ingress":{"host":"site.example.test"}}}`)
	harness.WaitFor(t, site, timeout, "the URL is the Ingress host's", func() error {
		if site.Status.ObservedGeneration != site.Generation || site.Status.URL != "http://site.example.test" {
			return fmt.Errorf("generation %d observed %d, url %q", site.Generation, site.Status.ObservedGeneration, site.Status.URL)
		}
		return nil
	})

	if err := c.Delete(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 2*timeout, "the port stops answering once the Website is deleted", func(ctx context.Context) error {
		if err := harness.ExpectPage(ctx, url+"/", ""); err == nil {
			return fmt.Errorf("%s still answers", url)
		}
		return nil
	})
}

// A private repository is served when secretRef names a Secret with a token.
func TestWebsiteFromPrivateRepository(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	runController(t, ns)
	srv := nodeGitServer(t)
	srv.RequireBasicAuth("kubia", "token-123")
	repo := srv.Repo(t, "private")
	repo.Commit(t, map[string]string{"index.html": "<h1>private site</h1>"}, "first")

	c := harness.Get(t).Client
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-token", Namespace: ns}, StringData: map[string]string{"token": "token-123"}}
	if err := c.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	site := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: "private", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: repo.URL, SecretRef: &extensionsv1.SecretReference{Name: "git-token"},
			Replicas: ptr.To[int32](1)},
	}
	if err := c.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	url := waitReady(t, site)
	harness.Eventually(t, timeout, "the private site is served", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, url+"/", "private site")
	})
}

// waitCommit waits until the Website's status reports commit as served.
func waitCommit(t *testing.T, site *extensionsv1.Website, commit string) {
	t.Helper()
	harness.WaitFor(t, site, timeout, "status.commit is "+commit, func() error {
		if site.Status.Commit != commit {
			return fmt.Errorf("status.commit %q; from here, %s", site.Status.Commit, syncStatusOfPods(t, site))
		}
		return nil
	})
}

// syncStatusOfPods asks kubia-sync's /status on each of the Website's pods, as the
// controller does, and tells what came back: when status.commit lags, this says whether
// kubia-sync answers this machine at all.
func syncStatusOfPods(t *testing.T, site *extensionsv1.Website) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var pods corev1.PodList
	if err := harness.Get(t).Client.List(ctx, &pods, client.InNamespace(site.Namespace),
		client.MatchingLabels{"app.kubernetes.io/instance": site.Name}); err != nil {
		return err.Error()
	}
	var out []string
	for _, pod := range pods.Items {
		url := "http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(syncstatus.Port)) + syncstatus.StatusPath
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err.Error()
		}
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", pod.Name, err))
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%s: GET %s: %s %s", pod.Name, url, resp.Status, body))
	}
	return strings.Join(out, "; ")
}

// status is the HTTP status of a request without a body to url.
func status(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// nodePorts counts the node ports of the Services in ns.
func nodePorts(t *testing.T, ns string) int {
	t.Helper()
	var services corev1.ServiceList
	if err := harness.Get(t).Client.List(t.Context(), &services, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, svc := range services.Items {
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				n++
			}
		}
	}
	return n
}

// waitReady waits until the Website is Ready for its current generation and returns its URL.
func waitReady(t *testing.T, site *extensionsv1.Website) string {
	t.Helper()
	harness.WaitFor(t, site, 2*timeout, "the Website is Ready", func() error {
		if site.Status.ObservedGeneration != site.Generation || !meta.IsStatusConditionTrue(site.Status.Conditions, website.ConditionReady) {
			return fmt.Errorf("status %+v", site.Status)
		}
		if !strings.HasPrefix(site.Status.URL, "http://"+localcluster.DefaultNodeIP+":") || site.Status.URL != "http://"+localcluster.DefaultNodeIP+":"+strconv.Itoa(int(site.Status.NodePort)) {
			return fmt.Errorf("url %q, nodePort %d", site.Status.URL, site.Status.NodePort)
		}
		return nil
	})
	return site.Status.URL
}

func post(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}
