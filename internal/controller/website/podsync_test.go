package website

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// fakeSync serves a kubia-sync /status at ip on the sync port, as a pod would.
func fakeSync(t *testing.T, ip string, status syncstatus.Status) {
	t.Helper()
	listener, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(syncPort)))
	if err != nil {
		t.Fatalf("listening as a pod's kubia-sync: %v", err)
	}
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

func websitePod(name, ip string, phase corev1.PodPhase, ready bool) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: childLabels(testSite())},
		Status:     corev1.PodStatus{Phase: phase, PodIP: ip},
	}
	if ready {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return pod
}

// Each running pod's kubia-sync is asked at the pod's address, Ready or not; pods that do
// not run kubia-sync are not; the report tells the commit most Ready pods serve and the
// first failure, redacted.
func TestObserveSyncAsksThePods(t *testing.T) {
	fakeSync(t, "127.0.3.1", syncstatus.Status{Commit: "aaa"})
	fakeSync(t, "127.0.3.2", syncstatus.Status{Commit: "bbb"})
	fakeSync(t, "127.0.3.3", syncstatus.Status{Commit: "bbb"})
	fakeSync(t, "127.0.3.4", syncstatus.Status{LastError: "listing https://user:pw@git.example/x.git: authentication required"})
	fakeSync(t, "127.0.3.9", syncstatus.Status{LastError: "a pod being deleted is not asked"})
	deleting := websitePod("e-deleting", "127.0.3.9", corev1.PodRunning, false)
	deleting.DeletionTimestamp, deleting.Finalizers = ptr.To(metav1.Now()), []string{"test/keep"}
	otherSite := websitePod("other", "127.0.3.4", corev1.PodRunning, true)
	otherSite.Labels = map[string]string{nameLabel: nameValue, instanceLabel: "other"}
	objs := []client.Object{
		websitePod("a", "127.0.3.1", corev1.PodRunning, true),
		websitePod("b", "127.0.3.2", corev1.PodRunning, true),
		websitePod("c", "127.0.3.3", corev1.PodRunning, true),
		websitePod("d-first-sync-fails", "127.0.3.4", corev1.PodRunning, false),
		websitePod("f-refuses", "127.0.3.5", corev1.PodRunning, false),
		websitePod("g-pending", "", corev1.PodPending, false),
		deleting, otherSite,
	}
	r := &Reconciler{Client: fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()}
	report, err := r.observeSync(t.Context(), testSite())
	if err != nil {
		t.Fatal(err)
	}
	if report.running != 5 || len(report.answered) != 4 {
		t.Fatalf("running %d, answered %+v; want 5 running (a-d, f), 4 answers", report.running, report.answered)
	}
	if got := report.servedCommit(); got != "bbb" {
		t.Errorf("served commit %q, want bbb (two Ready pods against one)", got)
	}
	if got, want := report.failure(), "listing https://***@git.example/x.git: authentication required"; got != want {
		t.Errorf("failure %q, want %q", got, want)
	}
}

func TestSyncReportTies(t *testing.T) {
	report := syncReport{answered: []podSync{
		{pod: "a", ready: true, status: syncstatus.Status{Commit: "ccc"}},
		{pod: "b", ready: true, status: syncstatus.Status{Commit: "bbb"}},
		{pod: "c", ready: false, status: syncstatus.Status{Commit: "ddd"}},
	}}
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
