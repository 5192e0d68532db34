package cli

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// podsSummary is what a failed kubia up shows of the chart's pods: each pod's unready
// conditions and containers, then the namespace's latest warnings, oldest first,
// whichever event API wrote them.
func TestPodsSummary(t *testing.T) {
	base := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	crashing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia-controller-manager-x", Namespace: releaseNamespace},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "manager", RestartCount: 4,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}},
			}},
		},
	}
	events := []client.Object{
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "newer", Namespace: releaseNamespace}, Type: corev1.EventTypeWarning, Reason: "BackOff",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: crashing.Name}, EventTime: metav1.NewMicroTime(base.Add(time.Minute)), Message: "Back-off restarting failed container"},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "older", Namespace: releaseNamespace}, Type: corev1.EventTypeWarning, Reason: "Unhealthy",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: crashing.Name}, LastTimestamp: metav1.NewTime(base), Message: "Readiness probe failed"},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "normal", Namespace: releaseNamespace}, Type: corev1.EventTypeNormal, Reason: "Pulled",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: crashing.Name}, LastTimestamp: metav1.NewTime(base)},
	}
	c := fake.NewClientBuilder().WithObjects(append(events, crashing)...).Build()

	got := podsSummary(t.Context(), c, releaseNamespace)
	want := "pods of kubia-system:\n" +
		"  kubia-controller-manager-x: Running, Ready=False ContainersNotReady; manager ready=false restarts=4 waiting CrashLoopBackOff back-off 1m20s last exit 1 Error\n" +
		"  warning Unhealthy Pod/kubia-controller-manager-x: Readiness probe failed\n" +
		"  warning BackOff Pod/kubia-controller-manager-x: Back-off restarting failed container\n"
	if got != want {
		t.Errorf("podsSummary:\n%s\nwant:\n%s", got, want)
	}
}
