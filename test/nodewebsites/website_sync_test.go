package nodewebsites

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/test/harness"
)

// The book's Website points at github.com, which the node cannot reach (as from any
// air-gapped cluster): the Website says so where users look, in its conditions and one
// Warning event, and claims no URL.
func TestBookWebsiteSaysWhyItIsNotServed(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	runController(t, ns)
	harness.ApplyFile(t, ns, harness.BookPath(t, "kubia-website.yaml"))
	site := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "kubia", Namespace: ns}}

	waitSyncFailed(t, site, "github.com")
	ready := meta.FindStatusCondition(site.Status.Conditions, website.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != website.ReasonSyncFailed ||
		!strings.Contains(ready.Message, "0 of 1 web servers available: syncing the repository fails") {
		t.Errorf("Ready = %+v; want False, SyncFailed, saying why", ready)
	}
	if synced := meta.FindStatusCondition(site.Status.Conditions, website.ConditionSynced); synced == nil ||
		synced.Status != metav1.ConditionFalse || !strings.Contains(synced.Message, "lookup github.com") {
		t.Errorf("Synced = %+v; want False with kubia-sync's error", synced)
	}
	if site.Status.URL != "" {
		t.Errorf("status.url %q while no web server is available", site.Status.URL)
	}
	// kubia-sync retries with backoff (1 s, 2 s, 4 s…) and every change of the Website
	// makes the controller look again: the failure is announced once, not once per retry
	// or reconcile.
	for i := range 5 {
		harness.Kubectl(t, "annotate", "website", "kubia", "-n", ns, "--overwrite", fmt.Sprintf("test/touch=%d", i))
		time.Sleep(time.Second)
	}
	time.Sleep(5 * time.Second)
	if n := countEvents(t, site, corev1.EventTypeWarning, website.ReasonSyncFailed); n != 1 {
		t.Errorf("%d SyncFailed warnings, want 1", n)
	}
}

// A repository that needs credentials the Website does not give (wrong ones in its URL,
// or a secretRef Secret that does not exist yet), one that does not exist yet and then
// appears, and one that starts failing while its last revision is served: each failure is
// reported with kubia-sync's error (credentials redacted), and clears once a sync works
// again.
func TestWebsiteSyncFailuresAreReportedAndClear(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	runController(t, ns)
	c := harness.Get(t).Client
	interval := &metav1.Duration{Duration: 5 * time.Second}

	private := nodeGitServer(t)
	private.RequireBasicAuth("reader", "right-password")
	private.Repo(t, "private").Commit(t, map[string]string{"index.html": "private"}, "first")
	wrongURL := strings.Replace(private.URL, "http://", "http://reader:wrong-password@", 1) + "/private.git"
	locked := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "locked", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: wrongURL, SyncInterval: interval}}

	// Its secretRef names a Secret that does not exist yet.
	unsigned := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "unsigned", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: private.URL + "/private.git", SyncInterval: interval,
			SecretRef: &extensionsv1.SecretReference{Name: "reader-credentials"}}}

	// Nothing listens at its address: connections are refused.
	refused := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "refused", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: "http://" + closedAddress(t) + "/site.git", SyncInterval: interval}}

	srv := nodeGitServer(t)
	later := &extensionsv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "later", Namespace: ns},
		Spec: extensionsv1.WebsiteSpec{GitRepo: srv.URL + "/later.git", SyncInterval: interval}}
	for _, site := range []*extensionsv1.Website{locked, unsigned, refused, later} {
		if err := c.Create(t.Context(), site); err != nil {
			t.Fatal(err)
		}
	}

	waitSyncFailed(t, locked, "authentication required")
	degraded := meta.FindStatusCondition(locked.Status.Conditions, website.ConditionDegraded)
	if strings.Contains(degraded.Message, "wrong-password") || !strings.Contains(degraded.Message, "http://***@") {
		t.Errorf("Degraded message %q: want the URL's userinfo redacted", degraded.Message)
	}

	waitSyncFailed(t, unsigned, "secretRef names a Secret that is missing")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reader-credentials", Namespace: ns},
		StringData: map[string]string{"username": "reader", "password": "right-password"}}
	if err := c.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}

	waitSyncFailed(t, refused, "connection refused")
	if refused.Status.URL != "" {
		t.Errorf("status.url %q while no web server is available", refused.Status.URL)
	}

	waitSyncFailed(t, later, "repository not found")
	first := srv.Repo(t, "later").Commit(t, map[string]string{"index.html": "<h1>it appeared</h1>"}, "first")
	url := waitReady(t, later)
	harness.Eventually(t, timeout, "the repository that appeared is served", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, url+"/", "it appeared")
	})
	waitSyncCleared(t, later)
	waitCommit(t, later, first)
	harness.Eventually(t, timeout, "a Normal event says syncing works again", func(ctx context.Context) error {
		if n := countEvents(t, later, corev1.EventTypeNormal, "Synced"); n != 1 {
			return fmt.Errorf("%d Synced events", n)
		}
		return nil
	})

	// The repository starts refusing: the last revision is still served, Ready stays True,
	// and Degraded says why newer commits will not come.
	srv.RequireBasicAuth("someone", "else")
	waitSyncFailed(t, later, "authentication required")
	if !meta.IsStatusConditionTrue(later.Status.Conditions, website.ConditionReady) || later.Status.URL != url {
		t.Errorf("status %+v: want Ready with the URL while the last revision is served", later.Status)
	}
	if err := harness.ExpectPage(t.Context(), url+"/", "it appeared"); err != nil {
		t.Errorf("the last revision is not served: %v", err)
	}
	srv.RequireBasicAuth("", "")
	waitSyncCleared(t, later)
	if n := countEvents(t, later, corev1.EventTypeWarning, website.ReasonSyncFailed); n != 2 {
		t.Errorf("%d SyncFailed warnings, want 2 (one per time syncing started failing)", n)
	}

	// The kubelet fills the optional Secret volume in (within its sync period, about a
	// minute); kubia-sync reads the credentials at its next try, without a restart.
	unsignedURL := waitReady(t, unsigned)
	harness.Eventually(t, timeout, "the site whose Secret came later is served", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, unsignedURL+"/", "private")
	})
	waitSyncCleared(t, unsigned)
}

// waitSyncFailed waits until the Website reports Degraded=True, SyncFailed, with a message
// containing cause, and a Warning event about it.
func waitSyncFailed(t *testing.T, site *extensionsv1.Website, cause string) {
	t.Helper()
	harness.WaitFor(t, site, 2*timeout, "Degraded=True SyncFailed ("+cause+")", func() error {
		degraded := meta.FindStatusCondition(site.Status.Conditions, website.ConditionDegraded)
		if degraded == nil || degraded.Status != metav1.ConditionTrue || degraded.Reason != website.ReasonSyncFailed ||
			!strings.Contains(degraded.Message, cause) {
			return fmt.Errorf("Degraded = %+v", degraded)
		}
		return nil
	})
	harness.Eventually(t, timeout, "a SyncFailed warning", func(ctx context.Context) error {
		if countEvents(t, site, corev1.EventTypeWarning, website.ReasonSyncFailed) == 0 {
			return errors.New("none yet")
		}
		return nil
	})
}

// waitSyncCleared waits until the Website no longer reports a failing sync.
func waitSyncCleared(t *testing.T, site *extensionsv1.Website) {
	t.Helper()
	harness.WaitFor(t, site, 2*timeout, "Degraded=False", func() error {
		degraded := meta.FindStatusCondition(site.Status.Conditions, website.ConditionDegraded)
		if degraded == nil || degraded.Status != metav1.ConditionFalse {
			return fmt.Errorf("Degraded = %+v", degraded)
		}
		return nil
	})
}

// countEvents counts the events of type and reason about site, a repeated event (a
// series) as often as it happened.
func countEvents(t *testing.T, site *extensionsv1.Website, eventType, reason string) int {
	t.Helper()
	var events corev1.EventList
	if err := harness.Get(t).Client.List(t.Context(), &events, client.InNamespace(site.Namespace)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events.Items {
		if e.InvolvedObject.Name != site.Name || e.InvolvedObject.Kind != "Website" || e.Type != eventType || e.Reason != reason {
			continue
		}
		switch {
		case e.Series != nil:
			n += int(e.Series.Count)
		case e.Count > 1:
			n += int(e.Count)
		default:
			n++
		}
	}
	return n
}

// closedAddress is an address on the node where nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", net.JoinHostPort(localcluster.DefaultNodeIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return addr
}
