package website

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// fakeSyncs serve a kubia-sync /status per loopback address, all on one free port, which
// syncStatusPort is pointed at for the test.
func fakeSyncs(t *testing.T, statuses map[string]syncstatus.Status) {
	t.Helper()
	port := 0
	for ip, status := range statuses {
		listener, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("listening as a pod's kubia-sync: %v", err)
		}
		port = listener.Addr().(*net.TCPAddr).Port
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != syncstatus.StatusPath {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(status)
		}))
		srv.Listener.Close()
		srv.Listener = listener
		srv.Start()
		t.Cleanup(srv.Close)
	}
	previous := syncStatusPort
	syncStatusPort = port
	t.Cleanup(func() { syncStatusPort = previous })
}

func websitePod(name, ip string, phase corev1.PodPhase, ready bool, started time.Duration) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: childLabels(testSite())},
		Status:     corev1.PodStatus{Phase: phase, PodIP: ip, StartTime: ptr.To(metav1.NewTime(time.Now().Add(-started)))},
	}
	if ready {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return pod
}

func fakeClient(objs ...client.Object) client.Client {
	s := runtime.NewScheme()
	_ = scheme.AddToScheme(s)
	_ = extensionsv1.AddToScheme(s)
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithStatusSubresource(&extensionsv1.Website{}).
		WithIndex(&corev1.Pod{}, podWebsiteField, indexPodWebsite).Build()
}

// Each running pod's kubia-sync is asked at the pod's address, Ready or not; pods that do
// not run kubia-sync, or are another Website's, are not; a pod that does not answer counts
// as starting only just after it started.
func TestObserveSyncAsksThePods(t *testing.T) {
	fakeSyncs(t, map[string]syncstatus.Status{
		"127.0.3.1": {Commit: "aaa", LastSync: time.Now()},
		"127.0.3.2": {Commit: "bbb", LastSync: time.Now()},
		"127.0.3.3": {Commit: "bbb", LastSync: time.Now()},
		"127.0.3.4": {LastError: "listing https://user:pw@git.example/x.git: authentication required"},
		"127.0.3.9": {LastError: "a pod being deleted, or another Website's, is not asked"},
	})
	deleting := websitePod("e-deleting", "127.0.3.9", corev1.PodRunning, false, time.Hour)
	deleting.DeletionTimestamp, deleting.Finalizers = ptr.To(metav1.Now()), []string{"test/keep"}
	otherSite := websitePod("other", "127.0.3.9", corev1.PodRunning, true, time.Hour)
	otherSite.Labels = map[string]string{nameLabel: nameValue, instanceLabel: "other"}
	r := &Reconciler{Client: fakeClient(
		websitePod("a", "127.0.3.1", corev1.PodRunning, true, time.Hour),
		websitePod("b", "127.0.3.2", corev1.PodRunning, true, time.Hour),
		websitePod("c", "127.0.3.3", corev1.PodRunning, true, time.Hour),
		websitePod("d-first-sync-fails", "127.0.3.4", corev1.PodRunning, false, time.Hour),
		websitePod("f-just-started", "127.0.3.5", corev1.PodRunning, false, time.Second),
		websitePod("g-unreachable", "127.0.3.6", corev1.PodRunning, false, time.Hour),
		websitePod("h-pending", "", corev1.PodPending, false, 0),
		deleting, otherSite,
	)}
	report, err := r.observeSync(t.Context(), testSite())
	if err != nil {
		t.Fatal(err)
	}
	if report.running != 6 || len(report.answered) != 4 || report.starting != 1 {
		t.Fatalf("running %d, starting %d, answered %+v; want 6 running (a-d, f, g), 1 starting (f), 4 answers",
			report.running, report.starting, report.answered)
	}
	if got := report.servedCommit(); got != "bbb" {
		t.Errorf("served commit %q, want bbb (two Ready pods against one)", got)
	}
	if got, want := report.failure(), "listing https://***@git.example/x.git: authentication required"; got != want {
		t.Errorf("failure %q, want %q", got, want)
	}
}

func TestSyncReportTies(t *testing.T) {
	report := syncReport{answered: []podSync{synced("ccc"), synced("bbb"), {status: syncstatus.Status{Commit: "ddd"}}}}
	if got := report.servedCommit(); got != "bbb" {
		t.Errorf("served commit %q: a tie goes to the smaller hash, a pod that is not Ready does not count", got)
	}
	if got := (syncReport{}).servedCommit(); got != "" {
		t.Errorf("no answer: served commit %q", got)
	}
	if got := report.failure(); got != "" {
		t.Errorf("failure %q, want none", got)
	}
}

// A change of Synced is announced once: a reconcile whose cache does not show the last
// status write yet finds the change already stored, and announces nothing.
func TestSyncChangeIsConfirmedAgainstTheAPIServer(t *testing.T) {
	failingStatus := func() *extensionsv1.WebsiteStatus {
		status := &extensionsv1.WebsiteStatus{}
		setSynced(status, metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionFalse, Reason: ReasonSyncFailed, Message: "boom"})
		return status
	}
	cached := testSite() // as the cache still has it: nothing said about syncing
	cases := map[string]struct {
		stored *extensionsv1.WebsiteStatus
		want   syncChange
	}{
		"not yet stored":               {stored: &extensionsv1.WebsiteStatus{}, want: syncStartedFailing},
		"stored by the last reconcile": {stored: failingStatus(), want: noSyncChange},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			stored := testSite()
			stored.Status = *tc.stored
			r := &Reconciler{APIReader: fakeClient(stored)}
			if got := r.syncChangeToAnnounce(t.Context(), cached, failingStatus()); got != tc.want {
				t.Errorf("change %d, want %d", got, tc.want)
			}
		})
	}
}
