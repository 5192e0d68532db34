// Package templateinstance instantiates TemplateInstances as OpenShift's controller does:
// it processes the template with the parameters of the instance's Secret, creates every
// object as the instance's requester (impersonation: a user gets through a TemplateInstance
// nothing they could not create themselves), records the objects in the status, reports
// Ready or InstantiateFailure, and on deletion removes what it created.
package templateinstance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

const (
	// OwnerLabel marks each object an instance created with the instance's UID; an object
	// that already exists is adopted only when it carries it (OpenShift's label).
	OwnerLabel = "template.openshift.io/template-instance-owner"
	// Finalizer holds a deleted instance until its objects are deleted (OpenShift's).
	Finalizer = "template.openshift.io/finalizer"
	// WaitForReadyAnnotation on an object makes the instance Ready only once the object
	// reports ready (OpenShift's).
	WaitForReadyAnnotation = "template.alpha.openshift.io/wait-for-ready"

	// ReasonCreated, ReasonWaiting and ReasonFailed are OpenShift's condition reasons.
	ReasonCreated = "Created"
	ReasonWaiting = "Waiting"
	ReasonFailed  = "Failed"

	fieldManager = "templateinstance-controller"
)

// readinessTimeout is how long an instance may wait for its objects to become ready
// before it fails, as in OpenShift.
const readinessTimeout = time.Hour

// readinessPoll is how often an instance waiting for its objects looks again: readiness
// is read from objects the controller does not watch.
const readinessPoll = 5 * time.Second

// errReadinessTimeout is OpenShift's message for an instance that waited too long.
var errReadinessTimeout = errors.New("timeout while waiting for template instance to be ready")

// Reconciler instantiates TemplateInstances.
type Reconciler struct {
	client.Client
	// Config is the controller's own connection; the objects are created through copies
	// of it that impersonate each instance's requester.
	Config *rest.Config
	// Mapper maps the kinds of the template's objects to resources.
	Mapper   meta.RESTMapper
	Recorder events.EventRecorder
	// Key seeds the generation of parameter values per instance, so that an
	// instantiation interrupted by a crash generates the same values when it starts
	// again (see Key).
	Key *Key
}

// +kubebuilder:rbac:groups=template.openshift.io,resources=templateinstances,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=template.openshift.io,resources=templateinstances/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=template.openshift.io,resources=templateinstances/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=users;groups;serviceaccounts,verbs=impersonate
// Requesters' extras (an x509 user's authentication.kubernetes.io/credential-id, a
// service account's pod name) are impersonated as resources userextras/<key>, which RBAC
// cannot match with "userextras/*" (it has no trailing wildcard): "*" of the group, whose
// only other resources take no impersonate verb.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=*,verbs=impersonate
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller for TemplateInstances.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&templatev1.TemplateInstance{}).
		Named("templateinstance").
		Complete(r)
}

// Reconcile instantiates the instance once, then waits for the objects it should wait
// for; a deleted instance has its objects deleted first. Ready and InstantiateFailure are
// final, as in OpenShift: the spec cannot change, so there is nothing to do again.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	result, err := r.reconcile(ctx, req)
	if apierrors.IsConflict(err) {
		// A write raced another (the finalizer's, the status'): read again, quietly.
		log.FromContext(ctx).V(1).Info("Write conflict; reading the instance again", "error", err.Error())
		return ctrl.Result{Requeue: true}, nil
	}
	return result, err
}

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ti := &templatev1.TemplateInstance{}
	if err := r.Get(ctx, req.NamespacedName, ti); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ti.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, ti)
	}
	if hasCondition(ti, templatev1.TemplateInstanceReady, corev1.ConditionTrue) ||
		hasCondition(ti, templatev1.TemplateInstanceInstantiateFailure, corev1.ConditionTrue) {
		return ctrl.Result{}, nil
	}
	// The finalizer comes first, so that no object can be created for an instance that
	// could then be deleted without them.
	if controllerutil.AddFinalizer(ti, Finalizer) {
		if err := r.Update(ctx, ti); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}
	status := ti.Status.DeepCopy()
	if !instantiated(ti, status) {
		err := r.instantiate(ctx, ti, status)
		if isTransient(err) {
			return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, ti, status))
		}
		if err != nil {
			r.fail(ctx, ti, status, err)
			return ctrl.Result{}, r.writeStatus(ctx, ti, status)
		}
		r.Recorder.Eventf(ti, nil, corev1.EventTypeNormal, "Instantiated", "Instantiate", "Created %d objects", len(status.Objects))
	}
	ready, err := r.checkReadiness(ctx, ti, status)
	switch {
	case isTransient(err):
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, ti, status))
	case err != nil:
		r.fail(ctx, ti, status, err)
		setCondition(status, templatev1.TemplateInstanceReady, corev1.ConditionFalse, ReasonFailed, "See InstantiateFailure condition for error message")
	case ready:
		setCondition(status, templatev1.TemplateInstanceReady, corev1.ConditionTrue, ReasonCreated, "")
	default:
		setCondition(status, templatev1.TemplateInstanceReady, corev1.ConditionFalse, ReasonWaiting, "Waiting for instantiated objects to report ready")
		return ctrl.Result{RequeueAfter: readinessPoll}, r.writeStatus(ctx, ti, status)
	}
	return ctrl.Result{}, r.writeStatus(ctx, ti, status)
}

// fail records err as the instance's InstantiateFailure, OpenShift's terminal condition.
func (r *Reconciler) fail(ctx context.Context, ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus, err error) {
	log.FromContext(ctx).Info("Instantiation failed", "error", err.Error())
	setCondition(status, templatev1.TemplateInstanceInstantiateFailure, corev1.ConditionTrue, ReasonFailed, formatError(err))
	r.Recorder.Eventf(ti, nil, corev1.EventTypeWarning, "InstantiateFailed", "Instantiate", "%s", formatError(err))
}

// writeStatus writes status through the status subresource when it changed.
func (r *Reconciler) writeStatus(ctx context.Context, ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus) error {
	if statusEqual(&ti.Status, status) {
		return nil
	}
	updated := ti.DeepCopy()
	updated.Status = *status
	if err := r.Status().Update(ctx, updated); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	*ti = *updated
	return nil
}

// isTransient tells errors worth retrying (the API server unavailable or overloaded, a
// conflicting write, the context ending) from those that end the instantiation, as every
// error does in OpenShift.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) || apierrors.IsConflict(err) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isConnectionError(err)
}

// isConnectionError tells a request that did not reach the API server.
func isConnectionError(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr)
}
