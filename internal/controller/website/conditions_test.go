package website

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

func deploymentWith(replicas, available int32, deadlineExceeded bool) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Generation: 1},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas,
			AvailableReplicas: available},
	}
	if deadlineExceeded {
		d.Status.Conditions = []appsv1.DeploymentCondition{failedProgressing}
	}
	return d
}

const bookSyncErr = "listing https://github.com/luksa/kubia-website-example.git: dial tcp: lookup github.com: server misbehaving"

func TestObservedVerdict(t *testing.T) {
	type cond struct {
		status          metav1.ConditionStatus
		reason, message string // message: a part of it
	}
	cases := map[string]struct {
		deploy                       *appsv1.Deployment
		syncErr                      string
		ready, progressing, degraded cond
	}{
		"the first sync fails": {
			deploy: deploymentWith(1, 0, false), syncErr: bookSyncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, "0 of 1 web servers available: syncing the repository fails (see Degraded)"},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, "0 of 1"},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix + bookSyncErr},
		},
		"syncing fails while the last revision is served": {
			deploy: deploymentWith(2, 2, false), syncErr: bookSyncErr,
			ready:       cond{metav1.ConditionTrue, ReasonAvailable, "served at http://198.18.0.1:30001 from the last revision synced"},
			progressing: cond{metav1.ConditionFalse, ReasonAsExpected, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix + bookSyncErr},
		},
		"new pods fail their first sync while old ones serve": {
			deploy: deploymentWith(3, 1, false), syncErr: bookSyncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, "1 of 3 web servers available"},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, bookSyncErr},
		},
		"the rollout gave up because syncing fails": {
			deploy: deploymentWith(1, 0, true), syncErr: bookSyncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, "syncing the repository fails"},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, bookSyncErr},
		},
		"the rollout gave up for another reason": {
			deploy:      deploymentWith(1, 0, true),
			ready:       cond{metav1.ConditionFalse, ReasonDeploymentFailed, "did not become available in time"},
			progressing: cond{metav1.ConditionFalse, ReasonAsExpected, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonDeploymentFailed, "did not become available in time"},
		},
		"rolling out": {
			deploy:      deploymentWith(2, 1, false),
			ready:       cond{metav1.ConditionFalse, ReasonRollingOut, "1 of 2 web servers available"},
			progressing: cond{metav1.ConditionTrue, ReasonRollingOut, "1 of 2"},
			degraded:    cond{metav1.ConditionFalse, ReasonAsExpected, ""},
		},
		"served": {
			deploy:      deploymentWith(1, 1, false),
			ready:       cond{metav1.ConditionTrue, ReasonAvailable, "The site is served at http://198.18.0.1:30001"},
			progressing: cond{metav1.ConditionFalse, ReasonAsExpected, ""},
			degraded:    cond{metav1.ConditionFalse, ReasonAsExpected, ""},
		},
		"scaled to zero": {
			deploy:      deploymentWith(0, 0, false),
			ready:       cond{metav1.ConditionFalse, ReasonScaledToZero, "scaled to zero"},
			progressing: cond{metav1.ConditionFalse, ReasonAsExpected, ""},
			degraded:    cond{metav1.ConditionFalse, ReasonAsExpected, ""},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status := &extensionsv1.WebsiteStatus{ObservedGeneration: 4}
			setConditions(status, observedVerdict(tc.deploy, tc.syncErr, "http://198.18.0.1:30001"))
			for condType, want := range map[string]cond{ConditionReady: tc.ready, ConditionProgressing: tc.progressing, ConditionDegraded: tc.degraded} {
				got := meta.FindStatusCondition(status.Conditions, condType)
				if got == nil || got.Status != want.status || got.Reason != want.reason || !strings.Contains(got.Message, want.message) || got.ObservedGeneration != 4 {
					t.Errorf("%s = %+v, want %s %s with %q", condType, got, want.status, want.reason, want.message)
				}
			}
			if ready := meta.FindStatusCondition(status.Conditions, ConditionReady); tc.syncErr != "" && strings.Contains(ready.Message, tc.syncErr) {
				t.Errorf("Ready repeats the error Degraded tells: %q", ready.Message)
			}
		})
	}
}

func failing(err string) podSync { return podSync{status: syncstatus.Status{LastError: err}} }

func synced(commit string) podSync {
	return podSync{ready: true, status: syncstatus.Status{Commit: commit, LastSync: time.Now()}}
}

// Synced changes only on what kubia-sync says: a pod that reports a failure, or a success
// with none failing. Pods that are replaced, restart or do not answer leave it as it was.
func TestSyncCondition(t *testing.T) {
	failed := &metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionFalse, Reason: ReasonSyncFailed, Message: "boom"}
	restarted := podSync{status: syncstatus.Status{Commit: "abc"}} // published from the volume, no try yet
	cases := map[string]struct {
		report   syncReport
		replicas int32
		previous *metav1.Condition
		want     metav1.ConditionStatus
		reason   string
		message  string
	}{
		"a pod fails":                            {report: syncReport{running: 2, answered: []podSync{synced("a"), failing("boom")}}, replicas: 2, want: metav1.ConditionFalse, reason: ReasonSyncFailed, message: "boom"},
		"the error most pods report":             {report: syncReport{answered: []podSync{failing("b"), failing("a"), failing("b")}}, replicas: 3, want: metav1.ConditionFalse, message: "b"},
		"errors are redacted again":              {report: syncReport{answered: []podSync{failing("listing https://tok@h/x.git: no")}}, replicas: 1, want: metav1.ConditionFalse, message: "listing https://***@h/x.git: no"},
		"a pod synced":                           {report: syncReport{running: 1, answered: []podSync{synced("a")}}, replicas: 1, previous: failed, want: metav1.ConditionTrue, reason: ReasonSynced},
		"the failing pod replaced, none running": {report: syncReport{}, replicas: 1, previous: failed, want: metav1.ConditionFalse, message: "boom"},
		"kubia-sync restarted, no try yet":       {report: syncReport{running: 1, answered: []podSync{restarted}}, replicas: 1, previous: failed, want: metav1.ConditionFalse, message: "boom"},
		"no pod answers":                         {report: syncReport{running: 1}, replicas: 1, previous: failed, want: metav1.ConditionFalse, message: "boom"},
		"scaled to zero":                         {report: syncReport{}, replicas: 0, previous: failed, want: metav1.ConditionUnknown, reason: ReasonScaledToZero},
		"nothing known yet":                      {report: syncReport{running: 1}, replicas: 1, want: metav1.ConditionUnknown, reason: ReasonWaitingForSync},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := syncCondition(tc.report, tc.replicas, tc.previous)
			if got.Type != ConditionSynced || got.Status != tc.want || (tc.reason != "" && got.Reason != tc.reason) || (tc.message != "" && got.Message != tc.message) {
				t.Errorf("Synced = %+v, want %s %s %q", got, tc.want, tc.reason, tc.message)
			}
		})
	}
}

// A conflict or a failed reconcile takes Degraded over but leaves Synced alone: the
// failing sync is neither new nor gone when the next reconcile works.
func TestFailedVerdictLeavesSynced(t *testing.T) {
	status := &extensionsv1.WebsiteStatus{}
	setSynced(status, metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionFalse, Reason: ReasonSyncFailed, Message: "boom"})
	before := status.DeepCopy()
	setConditions(status, failed(ReasonChildConflict, "Service kubia-website exists"))
	if degraded := meta.FindStatusCondition(status.Conditions, ConditionDegraded); degraded.Reason != ReasonChildConflict {
		t.Errorf("Degraded = %+v", degraded)
	}
	if syncFailure(status) != "boom" || syncChangeBetween(before, status) != noSyncChange {
		t.Error("a conflict changed what Synced says")
	}
}

func TestSyncChangeBetween(t *testing.T) {
	withSynced := func(s metav1.ConditionStatus) *extensionsv1.WebsiteStatus {
		status := &extensionsv1.WebsiteStatus{}
		if s != "" {
			setSynced(status, metav1.Condition{Type: ConditionSynced, Status: s, Reason: "R", Message: "m"})
		}
		return status
	}
	cases := []struct {
		before, after metav1.ConditionStatus
		want          syncChange
	}{
		{"", metav1.ConditionFalse, syncStartedFailing},
		{metav1.ConditionTrue, metav1.ConditionFalse, syncStartedFailing},
		{metav1.ConditionUnknown, metav1.ConditionFalse, syncStartedFailing},
		{metav1.ConditionFalse, metav1.ConditionFalse, noSyncChange},
		{metav1.ConditionFalse, metav1.ConditionTrue, syncRecovered},
		{metav1.ConditionFalse, metav1.ConditionUnknown, noSyncChange}, // scaled to zero: nothing recovered
		{"", metav1.ConditionTrue, noSyncChange},                       // worked from the start
		{metav1.ConditionUnknown, metav1.ConditionTrue, noSyncChange},
	}
	for _, tc := range cases {
		if got := syncChangeBetween(withSynced(tc.before), withSynced(tc.after)); got != tc.want {
			t.Errorf("%q → %q: change %d, want %d", tc.before, tc.after, got, tc.want)
		}
	}
}

func TestRecheckAfter(t *testing.T) {
	site := testSite()
	site.Spec.SyncInterval = &metav1.Duration{Duration: time.Hour}
	firstTry := podSync{status: syncstatus.Status{}}
	cases := map[string]struct {
		deploy *appsv1.Deployment
		report syncReport
		want   time.Duration
	}{
		"pods pending: their start brings an event": {deploy: deploymentWith(1, 0, false), report: syncReport{}, want: 0},
		"a first sync under way":                    {deploy: deploymentWith(1, 0, false), report: syncReport{running: 1, answered: []podSync{firstTry}}, want: unservedRecheck},
		"a pod just started, not answering yet":     {deploy: deploymentWith(1, 0, false), report: syncReport{running: 1, starting: 1}, want: unservedRecheck},
		"the first sync failed":                     {deploy: deploymentWith(1, 0, false), report: syncReport{running: 1, answered: []podSync{failing("x")}}, want: time.Hour},
		"synced, the web server is not ready":       {deploy: deploymentWith(1, 0, false), report: syncReport{running: 1, answered: []podSync{synced("a")}}, want: time.Hour},
		"long running, unreachable":                 {deploy: deploymentWith(1, 0, false), report: syncReport{running: 1}, want: time.Hour},
		"served":                                    {deploy: deploymentWith(1, 1, false), report: syncReport{running: 1, answered: []podSync{synced("a")}}, want: time.Hour},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := recheckAfter(site, tc.deploy, tc.report); got != tc.want {
				t.Errorf("recheck after %s, want %s", got, tc.want)
			}
		})
	}
}

func TestWebsiteOfPod(t *testing.T) {
	site := testSite()
	cases := map[string]struct {
		labels map[string]string
		want   string
	}{
		"a Website's pod":   {labels: mergeLabels(childLabels(site), map[string]string{"pod-template-hash": "x"}), want: "kubia"},
		"another app's pod": {labels: map[string]string{instanceLabel: "kubia", nameLabel: "postgres"}},
		"no instance label": {labels: map[string]string{nameLabel: nameValue}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			reqs := websiteOfPod(t.Context(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Labels: tc.labels}})
			switch {
			case tc.want == "" && len(reqs) != 0:
				t.Errorf("requests %v, want none", reqs)
			case tc.want != "" && (len(reqs) != 1 || reqs[0].Name != tc.want || reqs[0].Namespace != "ns"):
				t.Errorf("requests %v, want ns/%s", reqs, tc.want)
			}
		})
	}
}
