package website

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// Condition types and reasons of a Website's status.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"

	ReasonAvailable        = "Available"
	ReasonRollingOut       = "RollingOut"
	ReasonChildConflict    = "ChildConflict"
	ReasonReconcileFailed  = "ReconcileFailed"
	ReasonAsExpected       = "AsExpected"
	ReasonScaledToZero     = "ScaledToZero"
	ReasonDeploymentFailed = "ProgressDeadlineExceeded"
	// ReasonSyncFailed: kubia-sync's last sync of the repository failed.
	ReasonSyncFailed = "SyncFailed"
)

// syncFailedPrefix starts the Degraded message of a failing sync; kubia-sync's error follows.
const syncFailedPrefix = "Syncing the repository failed: "

// verdict is what a reconcile concluded, as the three conditions say it.
type verdict struct {
	ready           metav1.ConditionStatus
	reason, message string // Ready's
	progressing     metav1.ConditionStatus
	// progressingReason is Progressing's reason; its message is Ready's.
	progressingReason               string
	degraded                        metav1.ConditionStatus
	degradedReason, degradedMessage string
}

// settled is a verdict with nothing in progress and nothing wrong.
func settled(ready metav1.ConditionStatus, reason, message string) verdict {
	return verdict{ready: ready, reason: reason, message: message,
		progressing: metav1.ConditionFalse, progressingReason: ReasonAsExpected,
		degraded: metav1.ConditionFalse, degradedReason: ReasonAsExpected, degradedMessage: message}
}

// failed is the verdict of something only a person can fix: not Ready, Degraded for the
// same reason.
func failed(reason, message string) verdict {
	v := settled(metav1.ConditionFalse, reason, message)
	v.degraded, v.degradedReason = metav1.ConditionTrue, reason
	return v
}

// rollingOut is the verdict while the web servers are not all up to date and available.
func rollingOut(message string) verdict {
	v := settled(metav1.ConditionFalse, ReasonRollingOut, message)
	v.progressing, v.progressingReason = metav1.ConditionTrue, ReasonRollingOut
	return v
}

// withSyncFailure marks v Degraded because syncing fails, unless something else already
// made it Degraded.
func (v verdict) withSyncFailure(syncErr string) verdict {
	if v.degraded == metav1.ConditionTrue {
		return v
	}
	v.degraded, v.degradedReason, v.degradedMessage = metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix+syncErr
	return v
}

// observedVerdict concludes from the Deployment and kubia-sync's last error ("" when the
// last sync succeeded) whether the site is served at url.
func observedVerdict(deploy *appsv1.Deployment, syncErr, url string) verdict {
	replicas := ptr.Deref(deploy.Spec.Replicas, 1)
	available := deploy.Status.AvailableReplicas
	allAvailable := deploy.Status.ObservedGeneration >= deploy.Generation && deploy.Status.UpdatedReplicas >= replicas &&
		available >= replicas && deploy.Status.Replicas <= replicas
	var v verdict
	switch {
	case syncErr != "" && !allAvailable:
		// A pod is Ready only once it has published a revision: the failing sync is why
		// web servers are missing, and waiting will not bring them.
		v = settled(metav1.ConditionFalse, ReasonSyncFailed,
			fmt.Sprintf("%d of %d web servers available: %s%s", available, replicas, lowerFirst(syncFailedPrefix), syncErr))
		v.progressingReason = ReasonSyncFailed
	case deploymentFailed(deploy):
		v = failed(ReasonDeploymentFailed, "The web servers did not become available in time")
	case !allAvailable:
		v = rollingOut(fmt.Sprintf("%d of %d web servers available", available, replicas))
	case replicas == 0:
		v = settled(metav1.ConditionFalse, ReasonScaledToZero, "The Website is scaled to zero replicas")
	case syncErr != "":
		v = settled(metav1.ConditionTrue, ReasonAvailable,
			fmt.Sprintf("The site is served at %s from the last revision synced; syncing newer ones fails", url))
	default:
		v = settled(metav1.ConditionTrue, ReasonAvailable, fmt.Sprintf("The site is served at %s", url))
	}
	if syncErr != "" {
		v = v.withSyncFailure(syncErr)
	}
	return v
}

func lowerFirst(s string) string {
	return strings.ToLower(s[:1]) + s[1:]
}

// setConditions writes v into status's conditions.
func setConditions(status *extensionsv1.WebsiteStatus, v verdict) {
	gen := status.ObservedGeneration
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionReady, Status: v.ready, Reason: v.reason, Message: v.message, ObservedGeneration: gen})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionProgressing, Status: v.progressing, Reason: v.progressingReason, Message: v.message, ObservedGeneration: gen})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionDegraded, Status: v.degraded, Reason: v.degradedReason, Message: v.degradedMessage, ObservedGeneration: gen})
}

// syncFailure is the sync error status reports, or "" when it reports none.
func syncFailure(status *extensionsv1.WebsiteStatus) string {
	degraded := meta.FindStatusCondition(status.Conditions, ConditionDegraded)
	if degraded == nil || degraded.Status != metav1.ConditionTrue || degraded.Reason != ReasonSyncFailed {
		return ""
	}
	return strings.TrimPrefix(degraded.Message, syncFailedPrefix)
}
