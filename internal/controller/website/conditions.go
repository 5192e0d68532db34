package website

import (
	"fmt"

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
	// ConditionSynced says whether kubia-sync's last sync of the repository worked. It is
	// decided apart from the others, so a passing failure of the controller's own does not
	// make a failing sync look new (or recovered).
	ConditionSynced = "Synced"

	ReasonAvailable        = "Available"
	ReasonRollingOut       = "RollingOut"
	ReasonChildConflict    = "ChildConflict"
	ReasonReconcileFailed  = "ReconcileFailed"
	ReasonAsExpected       = "AsExpected"
	ReasonScaledToZero     = "ScaledToZero"
	ReasonDeploymentFailed = "ProgressDeadlineExceeded"
	// ReasonSyncFailed: kubia-sync's last sync of the repository failed.
	ReasonSyncFailed = "SyncFailed"
	// ReasonSynced: kubia-sync's last sync of the repository worked.
	ReasonSynced = "Synced"
	// ReasonWaitingForSync: no kubia-sync has told yet how its sync went.
	ReasonWaitingForSync = "WaitingForSync"
)

// syncFailedPrefix starts the Degraded message of a failing sync; kubia-sync's error follows.
const syncFailedPrefix = "Syncing the repository failed: "

// syncCondition decides the Synced condition from what the pods' kubia-sync said: a
// failure as soon as one reports it, success once one reports it and none fails, and
// otherwise (pods replaced, restarted, not answering) what was known before, since
// nothing said it changed. A Website scaled to zero syncs nothing.
func syncCondition(report syncReport, replicas int32, previous *metav1.Condition) metav1.Condition {
	switch syncErr := report.failure(); {
	case syncErr != "":
		return metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionFalse, Reason: ReasonSyncFailed, Message: syncErr}
	case report.succeeded():
		return metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionTrue, Reason: ReasonSynced,
			Message: "kubia-sync's last sync of the repository succeeded"}
	case replicas == 0:
		return metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionUnknown, Reason: ReasonScaledToZero,
			Message: "No pod runs kubia-sync"}
	case previous != nil:
		return *previous
	}
	return metav1.Condition{Type: ConditionSynced, Status: metav1.ConditionUnknown, Reason: ReasonWaitingForSync,
		Message: "No kubia-sync has finished a sync yet"}
}

// verdict is what a reconcile concluded, as Ready, Progressing and Degraded say it.
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

// observedVerdict concludes from the Deployment and kubia-sync's last error ("" when the
// last sync is not known to have failed) whether the site is served at url. The error
// itself is Degraded's (and Synced's) to tell; Ready points there.
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
			fmt.Sprintf("%d of %d web servers available: syncing the repository fails (see Degraded)", available, replicas))
		v.progressingReason = ReasonSyncFailed
	case deploymentFailed(deploy):
		return failed(ReasonDeploymentFailed, "The web servers did not become available in time")
	case !allAvailable:
		return rollingOut(fmt.Sprintf("%d of %d web servers available", available, replicas))
	case replicas == 0:
		return settled(metav1.ConditionFalse, ReasonScaledToZero, "The Website is scaled to zero replicas")
	case syncErr != "":
		v = settled(metav1.ConditionTrue, ReasonAvailable,
			fmt.Sprintf("The site is served at %s from the last revision synced; syncing newer ones fails (see Degraded)", url))
	default:
		return settled(metav1.ConditionTrue, ReasonAvailable, fmt.Sprintf("The site is served at %s", url))
	}
	v.degraded, v.degradedReason, v.degradedMessage = metav1.ConditionTrue, ReasonSyncFailed, syncFailedPrefix+syncErr
	return v
}

// setConditions writes v into status's Ready, Progressing and Degraded conditions.
func setConditions(status *extensionsv1.WebsiteStatus, v verdict) {
	gen := status.ObservedGeneration
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionReady, Status: v.ready, Reason: v.reason, Message: v.message, ObservedGeneration: gen})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionProgressing, Status: v.progressing, Reason: v.progressingReason, Message: v.message, ObservedGeneration: gen})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionDegraded, Status: v.degraded, Reason: v.degradedReason, Message: v.degradedMessage, ObservedGeneration: gen})
}

// setSynced writes the Synced condition into status.
func setSynced(status *extensionsv1.WebsiteStatus, synced metav1.Condition) {
	synced.ObservedGeneration = status.ObservedGeneration
	meta.SetStatusCondition(&status.Conditions, synced)
}

// syncFailure is the sync error status reports, or "" when it reports none.
func syncFailure(status *extensionsv1.WebsiteStatus) string {
	synced := meta.FindStatusCondition(status.Conditions, ConditionSynced)
	if synced == nil || synced.Status != metav1.ConditionFalse {
		return ""
	}
	return synced.Message
}

// syncWorks tells whether status reports the last sync worked.
func syncWorks(status *extensionsv1.WebsiteStatus) bool {
	return meta.IsStatusConditionTrue(status.Conditions, ConditionSynced)
}
