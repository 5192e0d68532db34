package templateinstance

import (
	"context"
	"errors"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// finalize deletes, as the requester and in the foreground, every object the instance
// lists, then lets the instance go. An object listed without a UID (the controller
// stopped while creating) is deleted only if it carries the instance's owner label; an
// object of the same name that is not the one created (another UID) is left alone.
func (r *Reconciler) finalize(ctx context.Context, ti *templatev1.TemplateInstance) error {
	if !controllerutil.ContainsFinalizer(ti, Finalizer) {
		return nil
	}
	q, err := r.asRequester(ti)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range ti.Status.Objects {
		if err := r.deleteObject(ctx, q, ti, o.Ref); err != nil {
			errs = append(errs, fmt.Errorf("error deleting %s %s/%s: %w", o.Ref.Kind, o.Ref.Namespace, o.Ref.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.Recorder.Eventf(ti, nil, corev1.EventTypeWarning, "FinalizerError", "DeletionFailure", "%s", formatError(err))
		return err
	}
	patch := client.MergeFromWithOptions(ti.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(ti, Finalizer)
	if err := r.Patch(ctx, ti, patch); err != nil {
		return fmt.Errorf("removing the finalizer: %w", err)
	}
	return nil
}

func (r *Reconciler) deleteObject(ctx context.Context, q *requester, ti *templatev1.TemplateInstance, ref corev1.ObjectReference) error {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return err
	}
	mapping, err := r.Mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if err != nil {
		return err
	}
	res := q.Resource(mapping.Resource).Namespace(ref.Namespace)
	uid := ref.UID
	if uid == "" {
		obj, err := res.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if obj.GetLabels()[OwnerLabel] != string(ti.UID) {
			return nil
		}
		uid = obj.GetUID()
	}
	foreground := metav1.DeletePropagationForeground
	err = res.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &foreground, Preconditions: &metav1.Preconditions{UID: &uid}})
	// With only a UID precondition, a conflict means the name now belongs to another
	// object: not ours to delete.
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
