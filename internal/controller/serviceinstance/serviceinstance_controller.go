// Package serviceinstance reconciles ServiceInstances: it provisions each at the broker
// of its class (asynchronously when the broker says so), deprovisions it before the
// object goes, and mitigates orphans as the Open Service Broker specification says.
package serviceinstance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/catalogcall"
	"github.com/kubia-dev/kubia/internal/controller/clusterservicebroker"
	"github.com/kubia-dev/kubia/internal/osb"
)

// Finalizer, annotation, operations and condition reasons of ServiceInstances.
const (
	// Finalizer keeps an instance until the broker has deprovisioned it.
	Finalizer = "servicecatalog.k8s.io/deprovision"
	// AnnotationAbandon set to "true" lets a deleted instance go without deprovisioning,
	// for a broker that is gone for good.
	AnnotationAbandon = "servicecatalog.k8s.io/abandon"

	OperationProvision   = "Provision"
	OperationUpdate      = "Update"
	OperationDeprovision = "Deprovision"

	ReasonProvisionedSuccessfully = "ProvisionedSuccessfully"
	// MessageProvisionedSuccessfully is the book's (and the old catalog's) message.
	MessageProvisionedSuccessfully = "The instance was provisioned successfully"
	ReasonProvisioning             = "Provisioning"
	ReasonProvisionCallFailed      = "ProvisionCallFailed"
	ReasonUpdating                 = "UpdatingInstance"
	ReasonUpdateCallFailed         = "UpdateInstanceCallFailed"
	ReasonBrokerBusy               = "BrokerBusy"
	ReasonErrorCallingBroker       = "ErrorCallingBroker"
	ReasonOrphanMitigation         = "StartingOrphanMitigation"
	ReasonDeprovisioning           = "Deprovisioning"
	ReasonDeprovisionCallFailed    = "DeprovisionCallFailed"
	ReasonDeprovisionBlocked       = "DeprovisionBlockedByExistingBindings"
	ReasonNonexistentClass         = "ReferencesNonexistentServiceClass"
	ReasonNonexistentPlan          = "ReferencesNonexistentServicePlan"
	ReasonNonexistentBroker        = "ReferencesNonexistentBroker"
	ReasonRemovedPlan              = "ReferencesRemovedServicePlan"
	ReasonErrorWithParameters      = "ErrorWithParameters"
)

// Timings.
const (
	// retryAfter is when a missing reference or a busy broker is looked at again.
	retryAfter = 10 * time.Second
	// pollMin and pollMax bound the wait between last_operation polls.
	pollMin, pollMax = time.Second, 30 * time.Second
)

// Reconciler provisions and deprovisions ServiceInstances.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets (broker credentials, parametersFrom) past the cache.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// RequestTimeout bounds each request to a broker; 0 means osb.DefaultTimeout.
	RequestTimeout time.Duration

	platform catalogcall.Platform
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances/finalizers,verbs=update
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterservicebrokers;clusterserviceclasses;clusterserviceplans,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller; a binding's change wakes its instance (a
// deletion blocked by bindings goes on when the last one goes).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sc.ServiceInstance{}).
		Watches(&sc.ServiceBinding{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
			b := obj.(*sc.ServiceBinding)
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}}}
		})).
		Named("serviceinstance").
		Complete(r)
}

// target is what an instance is provisioned at.
type target struct {
	class  *sc.ClusterServiceClass
	plan   *sc.ClusterServicePlan
	client *osb.Client
}

// Reconcile moves the instance one step towards its spec (or its deletion).
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	inst := &sc.ServiceInstance{}
	if err := r.Get(ctx, req.NamespacedName, inst); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !inst.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, inst)
	}
	if !controllerutil.ContainsFinalizer(inst, Finalizer) || inst.Spec.ExternalID == "" {
		// Both before anything reaches the broker: the finalizer so deprovisioning
		// happens, the id so a retried request names the same instance.
		controllerutil.AddFinalizer(inst, Finalizer)
		if inst.Spec.ExternalID == "" {
			inst.Spec.ExternalID = uuid.NewString()
		}
		return ctrl.Result{}, r.Update(ctx, inst)
	}
	status := inst.Status.DeepCopy()
	result, err := r.reconcileSpec(ctx, inst, status)
	return result, errors.Join(err, r.writeStatus(ctx, inst, status))
}

func (r *Reconciler) reconcileSpec(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus) (ctrl.Result, error) {
	t, reason, err := r.resolve(ctx, inst)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error(), inst.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	}
	switch {
	case status.AsyncOpInProgress:
		return r.poll(ctx, inst, status, t)
	case status.OrphanMitigationInProgress:
		return r.mitigateOrphan(ctx, inst, status, t)
	case status.ProvisionStatus != sc.ProvisionStatusProvisioned:
		if catalogcall.FailedFor(status.Conditions, inst.Generation) {
			return ctrl.Result{}, nil // terminal: the spec must change first
		}
		// A provisioning recorded as started (its answer lost) is repeated, whatever the
		// catalog says now: the broker may hold it.
		if t.plan.Status.RemovedFromBrokerCatalog && status.CurrentOperation == "" {
			r.refuseRemovedPlan(inst, status, OperationProvision)
			return ctrl.Result{}, nil
		}
		return r.provision(ctx, inst, status, t)
	}
	_, want, err := r.properties(ctx, inst, t)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorWithParameters, err.Error(), inst.Generation, true)
		return ctrl.Result{}, nil
	}
	has := status.ExternalProperties
	if has != nil && has.ClusterServicePlanExternalID == want.ClusterServicePlanExternalID && has.ParameterChecksum == want.ParameterChecksum {
		status.ObservedGeneration = inst.Generation
		return ctrl.Result{}, nil
	}
	if catalogcall.FailedFor(status.Conditions, inst.Generation) || has == nil {
		return ctrl.Result{}, nil
	}
	if has.ClusterServicePlanExternalID != want.ClusterServicePlanExternalID && t.plan.Status.RemovedFromBrokerCatalog && status.CurrentOperation == "" {
		r.refuseRemovedPlan(inst, status, OperationUpdate)
		return ctrl.Result{}, nil
	}
	return r.update(ctx, inst, status, t)
}

// refuseRemovedPlan fails this generation: a plan the broker's catalog dropped serves the
// instances that have it, but takes no new ones.
func (r *Reconciler) refuseRemovedPlan(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, op string) {
	msg := fmt.Sprintf("the plan %q of class %q was removed from the broker's catalog; choose another", inst.Spec.ClusterServicePlanName, inst.Spec.ClusterServiceClassName)
	r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, ReasonRemovedPlan, op, "%s", msg)
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonRemovedPlan, msg, inst.Generation, true)
}

// resolve finds the instance's class, plan and broker by their catalog names.
func (r *Reconciler) resolve(ctx context.Context, inst *sc.ServiceInstance) (*target, string, error) {
	t := &target{class: &sc.ClusterServiceClass{}, plan: &sc.ClusterServicePlan{}}
	className := clusterservicebroker.ClassName(inst.Spec.ClusterServiceClassName)
	if err := r.Get(ctx, client.ObjectKey{Name: className}, t.class); err != nil {
		return nil, ReasonNonexistentClass, fmt.Errorf("the class %q does not exist (yet): %w", inst.Spec.ClusterServiceClassName, err)
	}
	planName := clusterservicebroker.PlanName(inst.Spec.ClusterServiceClassName, inst.Spec.ClusterServicePlanName)
	if err := r.Get(ctx, client.ObjectKey{Name: planName}, t.plan); err != nil {
		return nil, ReasonNonexistentPlan, fmt.Errorf("the class %q has no plan %q: %w", inst.Spec.ClusterServiceClassName, inst.Spec.ClusterServicePlanName, err)
	}
	broker := &sc.ClusterServiceBroker{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.class.Spec.ClusterServiceBrokerName}, broker); err != nil {
		return nil, ReasonNonexistentBroker, fmt.Errorf("the broker %q of class %q: %w", t.class.Spec.ClusterServiceBrokerName, t.class.Name, err)
	}
	c, err := clusterservicebroker.NewOSBClient(ctx, r.APIReader, broker, r.RequestTimeout)
	if err != nil {
		return nil, ReasonNonexistentBroker, err
	}
	t.client = c
	return t, "", nil
}

func (r *Reconciler) provision(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, t *target) (ctrl.Result, error) {
	params, props, err := r.properties(ctx, inst, t)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorWithParameters, err.Error(), inst.Generation, true)
		return ctrl.Result{}, nil
	}
	clusterID, namespaceUID, err := r.platformIDs(ctx, inst)
	if err != nil {
		return ctrl.Result{}, err
	}
	// From now on the broker may hold something: deleting the instance deprovisions.
	status.DeprovisionStatus = sc.DeprovisionStatusRequired
	status.InProgressProperties = props
	if result, err := r.claim(ctx, inst, status, OperationProvision); err != nil || !result.IsZero() {
		return result, err
	}
	// The deprecated organization_guid and space_guid, which v2.17 still requires, are the
	// cluster's and the namespace's ids, as the original Kubernetes Service Catalog sent
	// them; the context object says the same in the profile's terms.
	res, err := t.client.Provision(ctx, inst.Spec.ExternalID, &osb.ProvisionRequest{
		ServiceID: t.class.Spec.ExternalID, PlanID: t.plan.Spec.ExternalID, Parameters: params,
		OrganizationGUID: clusterID, SpaceGUID: namespaceUID, Context: platformContext(inst, clusterID),
	}, catalogcall.Options())
	if err != nil {
		return r.callFailed(inst, status, OperationProvision, err)
	}
	status.DashboardURL = res.DashboardURL
	if res.Async {
		return r.startAsync(inst, status, OperationProvision, res.Operation, ReasonProvisioning, "The instance is being provisioned asynchronously")
	}
	r.succeeded(inst, status)
	return ctrl.Result{}, nil
}

// update sends the broker what changed in the spec: the plan, the parameters, or both.
func (r *Reconciler) update(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, t *target) (ctrl.Result, error) {
	params, props, err := r.properties(ctx, inst, t)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorWithParameters, err.Error(), inst.Generation, true)
		return ctrl.Result{}, nil
	}
	clusterID, err := r.platform.ClusterID(ctx, r.APIReader)
	if err != nil {
		return ctrl.Result{}, err
	}
	prev := status.ExternalProperties
	body := &osb.UpdateRequest{ServiceID: t.class.Spec.ExternalID, Context: platformContext(inst, clusterID),
		PreviousValues: &osb.PreviousValues{PlanID: prev.ClusterServicePlanExternalID, ServiceID: t.class.Spec.ExternalID}}
	if prev.ClusterServicePlanExternalID != props.ClusterServicePlanExternalID {
		body.PlanID = props.ClusterServicePlanExternalID
	}
	if prev.ParameterChecksum != props.ParameterChecksum {
		body.Parameters = params
	}
	status.InProgressProperties = props
	if result, err := r.claim(ctx, inst, status, OperationUpdate); err != nil || !result.IsZero() {
		return result, err
	}
	res, err := t.client.Update(ctx, inst.Spec.ExternalID, body, catalogcall.Options())
	if err != nil {
		return r.callFailed(inst, status, OperationUpdate, err)
	}
	if res.Async {
		return r.startAsync(inst, status, OperationUpdate, res.Operation, ReasonUpdating, "The instance is being updated asynchronously")
	}
	r.succeeded(inst, status)
	return ctrl.Result{}, nil
}

// platformIDs are the ids of the cluster and of the instance's namespace.
func (r *Reconciler) platformIDs(ctx context.Context, inst *sc.ServiceInstance) (clusterID, namespaceUID string, err error) {
	if clusterID, err = r.platform.ClusterID(ctx, r.APIReader); err != nil {
		return "", "", err
	}
	if namespaceUID, err = catalogcall.NamespaceUID(ctx, r.APIReader, inst.Namespace); err != nil {
		return "", "", err
	}
	return clusterID, namespaceUID, nil
}

// platformContext is the Kubernetes profile's context of provisioning and update
// requests.
func platformContext(inst *sc.ServiceInstance, clusterID string) map[string]any {
	return map[string]any{"platform": catalogcall.PlatformKubernetes, "namespace": inst.Namespace,
		"clusterid": clusterID, "instance_name": inst.Name}
}

func (r *Reconciler) startAsync(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, op, operation, reason, message string) (ctrl.Result, error) {
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = true, op, operation
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, message, inst.Generation, false)
	return ctrl.Result{RequeueAfter: pollMin}, nil
}

// succeeded records a finished provisioning or update: what the broker was asked for is
// what it has.
func (r *Reconciler) succeeded(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus) {
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	if status.InProgressProperties != nil {
		status.ExternalProperties, status.InProgressProperties = status.InProgressProperties, nil
	}
	if status.ProvisionStatus != sc.ProvisionStatusProvisioned {
		r.Recorder.Eventf(inst, nil, corev1.EventTypeNormal, ReasonProvisionedSuccessfully, "Provision", MessageProvisionedSuccessfully)
	}
	status.ProvisionStatus = sc.ProvisionStatusProvisioned
	status.ObservedGeneration = inst.Generation
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionTrue, ReasonProvisionedSuccessfully, MessageProvisionedSuccessfully, inst.Generation, false)
}

// callFailed handles a provision or update the broker did not accept: refused for good
// (Failed, until the spec changes), busy (retried), or possibly half done (a provision is
// then mitigated: DELETE before the next PUT).
func (r *Reconciler) callFailed(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, op string, err error) (ctrl.Result, error) {
	reason := ReasonProvisionCallFailed
	if op == OperationUpdate {
		reason = ReasonUpdateCallFailed
	}
	status.InProgressProperties, status.CurrentOperation = nil, ""
	switch {
	case osb.ErrorCode(err) == osb.ErrConcurrencyError:
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonBrokerBusy, err.Error(), inst.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	case osb.IsTerminal(err):
		if op == OperationProvision {
			status.DeprovisionStatus = sc.DeprovisionStatusNotRequired // a 4xx changes nothing at the broker
		}
		r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, reason, op, "%v", err)
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error(), inst.Generation, true)
		return ctrl.Result{}, nil
	case op == OperationProvision && osb.NeedsOrphanMitigation(err):
		r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, ReasonOrphanMitigation, op, "%v; deprovisioning what the broker may have made", err)
		status.OrphanMitigationInProgress = true
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonOrphanMitigation, err.Error(), inst.Generation, false)
		return ctrl.Result{Requeue: true}, nil
	}
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorCallingBroker, err.Error(), inst.Generation, false)
	return ctrl.Result{}, err // retried with backoff
}

// poll asks the broker how the operation in progress goes.
func (r *Reconciler) poll(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, t *target) (ctrl.Result, error) {
	q := osb.OperationQuery{ServiceID: t.class.Spec.ExternalID, Operation: status.LastOperation}
	// After a plan change, last_operation names the plan from before it.
	if p := status.ExternalProperties; p != nil {
		q.PlanID = p.ClusterServicePlanExternalID
	} else if p := status.InProgressProperties; p != nil {
		q.PlanID = p.ClusterServicePlanExternalID
	}
	lo, after, err := t.client.LastOperation(ctx, inst.Spec.ExternalID, q, catalogcall.Options())
	if osb.StatusCode(err) == http.StatusNotFound {
		return r.instanceNotFound(inst, status, err)
	}
	if status.CurrentOperation == OperationDeprovision && osb.StatusCode(err) == http.StatusGone {
		// The specification's success for a deprovisioning (for other operations, an
		// invalid answer: polled again).
		lo, err = &osb.LastOperationResponse{State: osb.StateSucceeded}, nil
	}
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorCallingBroker, err.Error(), inst.Generation, false)
		return ctrl.Result{}, err
	}
	switch lo.State {
	case osb.StateInProgress:
		if lo.Description != "" {
			reason := ReasonProvisioning
			if c := meta.FindStatusCondition(status.Conditions, sc.ConditionReady); c != nil {
				reason = c.Reason
			}
			catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, lo.Description, inst.Generation, false)
		}
		return ctrl.Result{RequeueAfter: min(max(after, pollMin), pollMax)}, nil
	case osb.StateSucceeded:
		return r.operationSucceeded(inst, status)
	}
	return r.operationFailed(inst, status, lo.Description)
}

// instanceNotFound handles a 404 from last_operation, the broker's word that the instance
// does not exist. A provisioning or update polled so has failed. A deprovisioning
// (or orphan mitigation) is sent again rather than taken as done: the specification
// gives a DELETE of an instance that does not exist one answer, 410 Gone, which is
// success, whereas a 404 from something between the controller and the broker would
// otherwise release an instance the broker still holds.
func (r *Reconciler) instanceNotFound(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, err error) (ctrl.Result, error) {
	if status.CurrentOperation != OperationDeprovision {
		return r.operationFailed(inst, status, err.Error())
	}
	// The conditions stay: an orphan mitigation's keep saying why the provisioning failed.
	r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, ReasonDeprovisioning, OperationDeprovision,
		"Polling the deprovisioning: %v; deprovisioning again", err)
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	return ctrl.Result{Requeue: true}, nil
}

func (r *Reconciler) operationSucceeded(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus) (ctrl.Result, error) {
	switch {
	case status.CurrentOperation == OperationDeprovision && status.OrphanMitigationInProgress:
		status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
		status.OrphanMitigationInProgress = false
		status.DeprovisionStatus = sc.DeprovisionStatusNotRequired
		return ctrl.Result{Requeue: true}, nil
	case status.CurrentOperation == OperationDeprovision:
		status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
		status.DeprovisionStatus = sc.DeprovisionStatusSucceeded
		status.ProvisionStatus = sc.ProvisionStatusNotProvisioned
		return ctrl.Result{Requeue: true}, nil
	}
	r.succeeded(inst, status)
	return ctrl.Result{}, nil
}

func (r *Reconciler) operationFailed(inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, description string) (ctrl.Result, error) {
	op := status.CurrentOperation
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	status.InProgressProperties = nil
	message := fmt.Sprintf("The broker reports that the %s failed: %s", op, description)
	switch op {
	case OperationProvision:
		// An asynchronous provisioning that failed may have left something behind.
		r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, ReasonProvisionCallFailed, op, "%s", message)
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonProvisionCallFailed, message, inst.Generation, true)
		status.OrphanMitigationInProgress = true
		return ctrl.Result{Requeue: true}, nil
	case OperationUpdate:
		r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, ReasonUpdateCallFailed, op, "%s", message)
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonUpdateCallFailed, message, inst.Generation, true)
		return ctrl.Result{}, nil
	}
	status.DeprovisionStatus = sc.DeprovisionStatusFailed
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonDeprovisionCallFailed, message, inst.Generation, false)
	return ctrl.Result{}, errors.New(message) // retried with backoff
}

// mitigateOrphan deletes, at the broker, what a failed provisioning may have made.
func (r *Reconciler) mitigateOrphan(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, t *target) (ctrl.Result, error) {
	if result, err := r.claim(ctx, inst, status, OperationDeprovision); err != nil || !result.IsZero() {
		return result, err
	}
	res, err := t.client.Deprovision(ctx, inst.Spec.ExternalID, t.class.Spec.ExternalID, t.plan.Spec.ExternalID, catalogcall.Options())
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("orphan mitigation of instance %s: %w", inst.Name, err)
	}
	if res.Async {
		status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = true, OperationDeprovision, res.Operation
		return ctrl.Result{RequeueAfter: pollMin}, nil
	}
	status.OrphanMitigationInProgress, status.CurrentOperation = false, ""
	status.DeprovisionStatus = sc.DeprovisionStatusNotRequired
	// A provisioning that failed at the broker stays Failed until the spec changes;
	// one that got no (or a broken) answer is tried again.
	return ctrl.Result{Requeue: !catalogcall.FailedFor(status.Conditions, inst.Generation)}, nil
}

// reconcileDelete deprovisions the instance (when the broker may hold something), then
// lets the object go; bindings block it, the abandon annotation skips the broker.
func (r *Reconciler) reconcileDelete(ctx context.Context, inst *sc.ServiceInstance) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(inst, Finalizer) {
		return ctrl.Result{}, nil
	}
	status := inst.Status.DeepCopy()
	if inst.Annotations[AnnotationAbandon] == "true" {
		r.Recorder.Eventf(inst, nil, corev1.EventTypeWarning, "Abandoned", "Deprovision", "Released without deprovisioning at the broker (%s)", AnnotationAbandon)
		return ctrl.Result{}, r.release(ctx, inst)
	}
	var bindings sc.ServiceBindingList
	if err := r.List(ctx, &bindings, client.InNamespace(inst.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	if names := bindingsOf(inst, bindings.Items); len(names) > 0 {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonDeprovisionBlocked,
			fmt.Sprintf("Deprovisioning waits until the bindings %v are deleted", names), inst.Generation, false)
		return ctrl.Result{}, r.writeStatus(ctx, inst, status)
	}
	if status.DeprovisionStatus != sc.DeprovisionStatusRequired && status.DeprovisionStatus != sc.DeprovisionStatusFailed &&
		!(status.AsyncOpInProgress && status.CurrentOperation == OperationDeprovision) {
		return ctrl.Result{}, r.release(ctx, inst)
	}
	t, reason, err := r.resolve(ctx, inst)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error()+fmt.Sprintf("; to release the instance anyway, annotate it %s=true", AnnotationAbandon), inst.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, r.writeStatus(ctx, inst, status)
	}
	result, err := r.deprovision(ctx, inst, status, t)
	if status.DeprovisionStatus == sc.DeprovisionStatusSucceeded {
		return ctrl.Result{}, errors.Join(err, r.release(ctx, inst))
	}
	return result, errors.Join(err, r.writeStatus(ctx, inst, status))
}

func (r *Reconciler) deprovision(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, t *target) (ctrl.Result, error) {
	if status.AsyncOpInProgress && status.CurrentOperation == OperationDeprovision {
		return r.poll(ctx, inst, status, t)
	}
	// A provisioning in progress is interrupted: the broker stops it and deletes.
	planID := t.plan.Spec.ExternalID
	if p := status.ExternalProperties; p != nil {
		planID = p.ClusterServicePlanExternalID
	}
	if result, err := r.claim(ctx, inst, status, OperationDeprovision); err != nil || !result.IsZero() {
		return result, err
	}
	res, err := t.client.Deprovision(ctx, inst.Spec.ExternalID, t.class.Spec.ExternalID, planID, catalogcall.Options())
	if err != nil {
		status.CurrentOperation = ""
		status.DeprovisionStatus = sc.DeprovisionStatusFailed
		reason := ReasonDeprovisionCallFailed
		if osb.ErrorCode(err) == osb.ErrConcurrencyError {
			reason = ReasonBrokerBusy
		}
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error(), inst.Generation, false)
		return ctrl.Result{}, err // retried with backoff
	}
	if res.Async {
		status.DeprovisionStatus = sc.DeprovisionStatusRequired
		return r.startAsync(inst, status, OperationDeprovision, res.Operation, ReasonDeprovisioning, "The instance is being deprovisioned asynchronously")
	}
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	status.DeprovisionStatus = sc.DeprovisionStatusSucceeded
	return ctrl.Result{}, nil
}

func bindingsOf(inst *sc.ServiceInstance, bindings []sc.ServiceBinding) []string {
	var names []string
	for _, b := range bindings {
		if b.Spec.InstanceRef.Name == inst.Name {
			names = append(names, b.Name)
		}
	}
	slices.Sort(names)
	return names
}

// release removes the finalizer: the object goes.
func (r *Reconciler) release(ctx context.Context, inst *sc.ServiceInstance) error {
	controllerutil.RemoveFinalizer(inst, Finalizer)
	if err := r.Update(ctx, inst); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer of %s: %w", inst.Name, err)
	}
	return nil
}

// redactedValue replaces, in the status, parameters that came from Secrets.
const redactedValue = "<redacted>"

// properties gathers the parameters (spec.parameters and parametersFrom's Secrets) and
// what the status records of them: the plan, the parameters with Secrets' values
// redacted, and a checksum of them all.
func (r *Reconciler) properties(ctx context.Context, inst *sc.ServiceInstance, t *target) (map[string]any, *sc.ServiceInstancePropertiesState, error) {
	params := map[string]any{}
	if p := inst.Spec.Parameters; p != nil && len(p.Raw) > 0 {
		if err := json.Unmarshal(p.Raw, &params); err != nil {
			return nil, nil, fmt.Errorf("spec.parameters: %w", err)
		}
	}
	redacted := maps.Clone(params)
	for _, from := range inst.Spec.ParametersFrom {
		ref := from.SecretKeyRef
		secret := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: inst.Namespace, Name: ref.Name}, secret); err != nil {
			return nil, nil, fmt.Errorf("parametersFrom Secret %s: %w", ref.Name, err)
		}
		var values map[string]any
		if err := json.Unmarshal(secret.Data[ref.Key], &values); err != nil {
			return nil, nil, fmt.Errorf("parametersFrom Secret %s key %s must hold a JSON object: %w", ref.Name, ref.Key, err)
		}
		for k, v := range values {
			if _, dup := params[k]; dup {
				return nil, nil, fmt.Errorf("parameter %q is given twice (parametersFrom Secret %s)", k, ref.Name)
			}
			params[k], redacted[k] = v, redactedValue
		}
	}
	all, err := json.Marshal(params)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(all)
	props := &sc.ServiceInstancePropertiesState{ClusterServicePlanExternalName: t.plan.Spec.ExternalName,
		ClusterServicePlanExternalID: t.plan.Spec.ExternalID, ParameterChecksum: hex.EncodeToString(sum[:])}
	if len(redacted) > 0 {
		data, err := json.Marshal(redacted)
		if err != nil {
			return nil, nil, err
		}
		props.Parameters = &runtime.RawExtension{Raw: data}
	}
	return params, props, nil
}

// claim records, before a call to the broker, the operation about to start (see
// catalogcall.Claim).
func (r *Reconciler) claim(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus, op string) (ctrl.Result, error) {
	status.CurrentOperation = op
	before := inst.DeepCopy()
	inst.Status = *status.DeepCopy()
	return catalogcall.Claim(ctx, r.Client, inst, before)
}

func (r *Reconciler) writeStatus(ctx context.Context, inst *sc.ServiceInstance, status *sc.ServiceInstanceStatus) error {
	if equality.Semantic.DeepEqual(&inst.Status, status) {
		return nil
	}
	before := inst.DeepCopy()
	inst.Status = *status
	return catalogcall.WriteStatus(ctx, r.Client, inst, before)
}
