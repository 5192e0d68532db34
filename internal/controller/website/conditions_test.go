package website

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
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

func TestObservedVerdict(t *testing.T) {
	const syncErr = "listing https://github.com/luksa/kubia-website-example.git: dial tcp: lookup github.com: server misbehaving"
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
			deploy: deploymentWith(1, 0, false), syncErr: syncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, "0 of 1 web servers available: syncing the repository failed: " + syncErr},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, "0 of 1"},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix + syncErr},
		},
		"syncing fails while the last revision is served": {
			deploy: deploymentWith(2, 2, false), syncErr: syncErr,
			ready:       cond{metav1.ConditionTrue, ReasonAvailable, "served at http://198.18.0.1:30001 from the last revision synced"},
			progressing: cond{metav1.ConditionFalse, ReasonAsExpected, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix + syncErr},
		},
		"new pods fail their first sync while old ones serve": {
			deploy: deploymentWith(3, 1, false), syncErr: syncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, "1 of 3 web servers available"},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncErr},
		},
		"the rollout gave up because syncing fails": {
			deploy: deploymentWith(1, 0, true), syncErr: syncErr,
			ready:       cond{metav1.ConditionFalse, ReasonSyncFailed, syncErr},
			progressing: cond{metav1.ConditionFalse, ReasonSyncFailed, ""},
			degraded:    cond{metav1.ConditionTrue, ReasonSyncFailed, syncErr},
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
			if got := syncFailure(status); got != tc.syncErr {
				t.Errorf("syncFailure = %q, want %q", got, tc.syncErr)
			}
		})
	}
}

// A conflict or a failed reconcile outranks a failing sync: Degraded says what blocks Kubia.
func TestFailedVerdictKeepsItsReason(t *testing.T) {
	status := &extensionsv1.WebsiteStatus{}
	setConditions(status, failed(ReasonChildConflict, "Service kubia-sync exists").withSyncFailure("boom"))
	if degraded := meta.FindStatusCondition(status.Conditions, ConditionDegraded); degraded.Reason != ReasonChildConflict {
		t.Errorf("Degraded = %+v", degraded)
	}
	if syncFailure(status) != "" {
		t.Error("a conflict reads as a failing sync")
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
