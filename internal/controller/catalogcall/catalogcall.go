// Package catalogcall holds what the Service Catalog's controllers share around calls
// to brokers: the identities they send (the caller's, and the platform's cluster and
// namespace ids), their Ready/Failed conditions, and their status writes (the
// optimistic-lock claim keeps a stale cache from calling a broker twice).
package catalogcall

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/osb"
)

// Options are a call's identities: the controller's own (the catalog has no admission
// step recording the requesting user) and a new request id.
func Options() osb.CallOptions {
	return osb.CallOptions{RequestIdentity: uuid.NewString(),
		OriginatingIdentity: &osb.Identity{Platform: PlatformKubernetes, Value: map[string]any{"username": "kubia-controller-manager"}}}
}

// SetConditions sets Ready and Failed (failed: the broker refused for good).
func SetConditions(conds *[]metav1.Condition, ready metav1.ConditionStatus, reason, message string, gen int64, failed bool) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: sc.ConditionReady, Status: ready, Reason: reason, Message: message, ObservedGeneration: gen})
	failedStatus := metav1.ConditionFalse
	if failed {
		failedStatus = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: sc.ConditionFailed, Status: failedStatus, Reason: reason, Message: message, ObservedGeneration: gen})
}

// FailedFor tells whether the broker refused this generation for good.
func FailedFor(conds []metav1.Condition, generation int64) bool {
	c := meta.FindStatusCondition(conds, sc.ConditionFailed)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}

// Claim writes obj's status (changed from before) on the resourceVersion this reconcile
// read, before a call to the broker: a reconcile that read a stale cache, not showing an
// earlier reconcile's call, gets a conflict and looks again instead of calling twice.
func Claim(ctx context.Context, c client.Client, obj, before client.Object) (ctrl.Result, error) {
	err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		return ctrl.Result{Requeue: true}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the call about to start: %w", err)
	}
	return ctrl.Result{}, nil
}

// WriteStatus writes obj's status (changed from before) with a merge patch; an object
// already gone is no error.
func WriteStatus(ctx context.Context, c client.Client, obj, before client.Object) error {
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}
