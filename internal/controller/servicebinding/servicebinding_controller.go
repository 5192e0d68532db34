// Package servicebinding reconciles ServiceBindings: once its instance is provisioned it
// binds at the broker and writes the credentials (transformed as asked) into a Secret
// the binding owns; deleting the binding unbinds first.
package servicebinding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/jsonpath"
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

// Finalizer, operations and reasons of ServiceBindings.
const (
	// Finalizer keeps a binding until the broker has unbound it.
	Finalizer = "servicecatalog.k8s.io/unbind"

	OperationBind   = "Bind"
	OperationUnbind = "Unbind"

	ReasonInjectedBindResult  = "InjectedBindResult"
	MessageInjectedBindResult = "Injected bind result"
	ReasonBinding             = "Binding"
	ReasonBindCallFailed      = "BindCallFailed"
	ReasonInstanceNotReady    = "ErrorInstanceNotReady"
	ReasonNonexistentInstance = "ReferencesNonexistentInstance"
	ReasonSecretConflict      = "ErrorSecretConflict"
	ReasonTransformFailed     = "ErrorTransformingCredentials"
	ReasonUnbindCallFailed    = "UnbindCallFailed"
	ReasonErrorCallingBroker  = "ErrorCallingBroker"
	ReasonOrphanMitigation    = "StartingOrphanMitigation"
	retryAfter                = 5 * time.Second
	pollMin, pollMax          = time.Second, 30 * time.Second
)

// Reconciler binds and unbinds ServiceBindings.
type Reconciler struct {
	client.Client
	// APIReader reads Secrets past the cache, which holds none.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// RequestTimeout bounds each request to a broker; 0 means osb.DefaultTimeout.
	RequestTimeout time.Duration

	platform catalogcall.Platform
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=servicebindings/finalizers,verbs=update
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller; an instance's change wakes its bindings
// (which wait for it to be provisioned).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sc.ServiceBinding{}).
		Watches(&sc.ServiceInstance{}, handler.EnqueueRequestsFromMapFunc(r.bindingsOf)).
		Named("servicebinding").
		Complete(r)
}

func (r *Reconciler) bindingsOf(ctx context.Context, obj client.Object) []reconcile.Request {
	var bindings sc.ServiceBindingList
	if err := r.List(ctx, &bindings, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, b := range bindings.Items {
		if b.Spec.InstanceRef.Name == obj.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&b)})
		}
	}
	return out
}

// Reconcile moves the binding one step towards its spec (or its deletion).
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &sc.ServiceBinding{}
	if err := r.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if b.DeletionTimestamp.IsZero() && (!controllerutil.ContainsFinalizer(b, Finalizer) || b.Spec.ExternalID == "") {
		// Both before anything reaches the broker.
		controllerutil.AddFinalizer(b, Finalizer)
		if b.Spec.ExternalID == "" {
			b.Spec.ExternalID = uuid.NewString()
		}
		return ctrl.Result{}, r.Update(ctx, b)
	}
	status := b.Status.DeepCopy()
	var result ctrl.Result
	var err error
	if !b.DeletionTimestamp.IsZero() {
		result, err = r.reconcileDelete(ctx, b, status)
		if !controllerutil.ContainsFinalizer(b, Finalizer) {
			return result, err // released: the object is going
		}
	} else {
		result, err = r.reconcileBind(ctx, b, status)
	}
	return result, errors.Join(err, r.writeStatus(ctx, b, status))
}

// target is the instance and how to reach its broker.
type target struct {
	instance *sc.ServiceInstance
	class    *sc.ClusterServiceClass
	client   *osb.Client
}

func (r *Reconciler) resolve(ctx context.Context, b *sc.ServiceBinding) (*target, string, error) {
	t := &target{instance: &sc.ServiceInstance{}, class: &sc.ClusterServiceClass{}}
	if err := r.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.InstanceRef.Name}, t.instance); err != nil {
		return nil, ReasonNonexistentInstance, fmt.Errorf("the instance %q: %w", b.Spec.InstanceRef.Name, err)
	}
	if t.instance.Status.ProvisionStatus != sc.ProvisionStatusProvisioned || t.instance.Status.ExternalProperties == nil {
		return nil, ReasonInstanceNotReady, fmt.Errorf("waiting for the instance %q to be provisioned", t.instance.Name)
	}
	if err := r.Get(ctx, client.ObjectKey{Name: clusterservicebroker.ClassName(t.instance.Spec.ClusterServiceClassName)}, t.class); err != nil {
		return nil, ReasonInstanceNotReady, fmt.Errorf("the class of instance %q: %w", t.instance.Name, err)
	}
	broker := &sc.ClusterServiceBroker{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.class.Spec.ClusterServiceBrokerName}, broker); err != nil {
		return nil, ReasonInstanceNotReady, fmt.Errorf("the broker of instance %q: %w", t.instance.Name, err)
	}
	c, err := clusterservicebroker.NewOSBClient(ctx, r.APIReader, broker, r.RequestTimeout)
	if err != nil {
		return nil, ReasonInstanceNotReady, err
	}
	t.client = c
	return t, "", nil
}

func secretName(b *sc.ServiceBinding) string {
	if b.Spec.SecretName != "" {
		return b.Spec.SecretName
	}
	return b.Name
}

func (r *Reconciler) reconcileBind(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus) (ctrl.Result, error) {
	t, reason, err := r.resolve(ctx, b)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error(), b.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	}
	switch {
	case status.AsyncOpInProgress:
		return r.poll(ctx, b, status, t)
	case status.OrphanMitigationInProgress:
		return r.unbind(ctx, b, status, t)
	case catalogcall.FailedFor(status.Conditions, b.Generation):
		return ctrl.Result{}, nil
	case meta.IsStatusConditionTrue(status.Conditions, sc.ConditionReady) && status.ObservedGeneration == b.Generation:
		return ctrl.Result{}, nil
	}
	params := map[string]any{}
	if p := b.Spec.Parameters; p != nil && len(p.Raw) > 0 {
		if err := json.Unmarshal(p.Raw, &params); err != nil {
			catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonBindCallFailed, "spec.parameters: "+err.Error(), b.Generation, true)
			return ctrl.Result{}, nil
		}
	}
	clusterID, err := r.platform.ClusterID(ctx, r.APIReader)
	if err != nil {
		return ctrl.Result{}, err
	}
	status.UnbindStatus = sc.UnbindStatusRequired
	if result, err := r.claim(ctx, b, status, OperationBind); err != nil || !result.IsZero() {
		return result, err
	}
	res, err := t.client.Bind(ctx, t.instance.Spec.ExternalID, b.Spec.ExternalID, &osb.BindRequest{
		ServiceID: t.class.Spec.ExternalID, PlanID: t.instance.Status.ExternalProperties.ClusterServicePlanExternalID,
		BindResource: map[string]any{"app_guid": b.Namespace}, Parameters: params,
		// The Kubernetes profile's context of a bind request.
		Context: map[string]any{"platform": catalogcall.PlatformKubernetes, "namespace": t.instance.Namespace, "clusterid": clusterID},
	}, catalogcall.Options())
	if err != nil {
		return r.bindFailed(b, status, err)
	}
	if res.Async {
		status.AsyncOpInProgress, status.LastOperation = true, res.Operation
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonBinding, "The binding is being made asynchronously", b.Generation, false)
		return ctrl.Result{RequeueAfter: pollMin}, nil
	}
	if res.Binding == nil {
		return r.bindFailed(b, status, &osb.HTTPError{StatusCode: res.Status, Description: "the bind answer has no credentials", Malformed: true})
	}
	return r.inject(ctx, b, status, res.Binding.Credentials)
}

// inject writes the credentials, transformed, into the binding's Secret.
func (r *Reconciler) inject(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus, creds map[string]any) (ctrl.Result, error) {
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	data, err := secretData(creds, b.Spec.SecretTransforms)
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonTransformFailed, err.Error(), b.Generation, true)
		return ctrl.Result{}, nil
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName(b), Namespace: b.Namespace}}
	err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), secret)
	switch {
	case apierrors.IsNotFound(err):
		secret.Data, secret.Type = data, corev1.SecretTypeOpaque
		// Owned by the binding: deleting the binding deletes the credentials.
		if err := controllerutil.SetControllerReference(b, secret, r.Scheme()); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.Create(ctx, secret); err != nil {
			return ctrl.Result{}, fmt.Errorf("creating Secret %s: %w", secret.Name, err)
		}
	case err != nil:
		return ctrl.Result{}, err
	case !metav1.IsControlledBy(secret, b):
		msg := fmt.Sprintf("the Secret %q exists and is not this binding's", secret.Name)
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonSecretConflict, msg, b.Generation, true)
		return ctrl.Result{}, nil
	default:
		secret.Data = data
		if err := r.Update(ctx, secret); err != nil {
			return ctrl.Result{}, fmt.Errorf("updating Secret %s: %w", secret.Name, err)
		}
	}
	r.Recorder.Eventf(b, secret, corev1.EventTypeNormal, ReasonInjectedBindResult, OperationBind, "%s into Secret %s", MessageInjectedBindResult, secret.Name)
	status.ObservedGeneration = b.Generation
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionTrue, ReasonInjectedBindResult, MessageInjectedBindResult, b.Generation, false)
	return ctrl.Result{}, nil
}

// secretData turns credentials into Secret keys (strings as they are, other values as
// JSON) and applies the transforms in order.
func secretData(creds map[string]any, transforms []sc.SecretTransform) (map[string][]byte, error) {
	data := map[string][]byte{}
	for k, v := range creds {
		if s, ok := v.(string); ok {
			data[k] = []byte(s)
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		data[k] = raw
	}
	for i, t := range transforms {
		switch {
		case t.RenameKey != nil:
			if v, ok := data[t.RenameKey.From]; ok {
				delete(data, t.RenameKey.From)
				data[t.RenameKey.To] = v
			}
		case t.RemoveKey != nil:
			delete(data, t.RemoveKey.Key)
		case t.AddKey != nil && t.AddKey.StringValue != nil:
			data[t.AddKey.Key] = []byte(*t.AddKey.StringValue)
		case t.AddKey != nil && t.AddKey.JSONPathExpression != nil:
			value, err := evalJSONPath(*t.AddKey.JSONPathExpression, creds)
			if err != nil {
				return nil, fmt.Errorf("secretTransforms[%d].addKey.jsonPathExpression: %w", i, err)
			}
			data[t.AddKey.Key] = value
		case t.AddKey != nil:
			data[t.AddKey.Key] = t.AddKey.Value
		}
	}
	return data, nil
}

func evalJSONPath(expr string, creds map[string]any) ([]byte, error) {
	jp := jsonpath.New("transform")
	if err := jp.Parse(expr); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, creds); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *Reconciler) bindFailed(b *sc.ServiceBinding, status *sc.ServiceBindingStatus, err error) (ctrl.Result, error) {
	status.CurrentOperation = ""
	switch {
	case osb.ErrorCode(err) == osb.ErrConcurrencyError:
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorCallingBroker, err.Error(), b.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	case osb.IsTerminal(err):
		status.UnbindStatus = sc.UnbindStatusNotRequired
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, ReasonBindCallFailed, OperationBind, "%v", err)
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonBindCallFailed, err.Error(), b.Generation, true)
		return ctrl.Result{}, nil
	case osb.NeedsOrphanMitigation(err):
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, ReasonOrphanMitigation, OperationBind, "%v; unbinding what the broker may have made", err)
		status.OrphanMitigationInProgress = true
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonOrphanMitigation, err.Error(), b.Generation, false)
		return ctrl.Result{Requeue: true}, nil
	}
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonErrorCallingBroker, err.Error(), b.Generation, false)
	return ctrl.Result{}, err
}

func (r *Reconciler) poll(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus, t *target) (ctrl.Result, error) {
	lo, after, err := t.client.BindingLastOperation(ctx, t.instance.Spec.ExternalID, b.Spec.ExternalID, osb.OperationQuery{
		ServiceID: t.class.Spec.ExternalID, PlanID: t.instance.Status.ExternalProperties.ClusterServicePlanExternalID, Operation: status.LastOperation}, catalogcall.Options())
	unbinding := status.CurrentOperation == OperationUnbind
	if osb.StatusCode(err) == http.StatusNotFound {
		return r.bindingNotFound(b, status, unbinding, err)
	}
	if unbinding && osb.StatusCode(err) == http.StatusGone {
		// The specification's success for an unbinding (for a binding, an invalid
		// answer: polled again).
		lo, err = &osb.LastOperationResponse{State: osb.StateSucceeded}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	switch lo.State {
	case osb.StateInProgress:
		return ctrl.Result{RequeueAfter: min(max(after, pollMin), pollMax)}, nil
	case osb.StateSucceeded:
		if unbinding {
			r.unbound(status)
			return ctrl.Result{Requeue: true}, nil
		}
		binding, err := t.client.GetBinding(ctx, t.instance.Spec.ExternalID, b.Spec.ExternalID, catalogcall.Options())
		if err != nil {
			return ctrl.Result{}, err
		}
		return r.inject(ctx, b, status, binding.Credentials)
	}
	return r.operationFailed(b, status, unbinding, lo.Description)
}

// bindingNotFound handles a 404 from last_operation, the broker's word that the binding
// does not exist. A binding polled so has failed. An unbinding is sent again rather than
// taken as done: the specification gives an unbind of a binding that does not exist one
// answer, 410 Gone, which is success, whereas a 404 from something between the
// controller and the broker would otherwise drop a binding the broker still holds.
func (r *Reconciler) bindingNotFound(b *sc.ServiceBinding, status *sc.ServiceBindingStatus, unbinding bool, err error) (ctrl.Result, error) {
	if !unbinding {
		return r.operationFailed(b, status, false, err.Error())
	}
	r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, ReasonUnbindCallFailed, OperationUnbind, "Polling the unbinding: %v; unbinding again", err)
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	return ctrl.Result{Requeue: true}, nil
}

// operationFailed records an asynchronous bind or unbind that failed: an unbinding is
// retried with backoff, a binding is Failed and what the broker may hold is unbound.
func (r *Reconciler) operationFailed(b *sc.ServiceBinding, status *sc.ServiceBindingStatus, unbinding bool, description string) (ctrl.Result, error) {
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	message := "The broker reports that the " + map[bool]string{true: "unbind", false: "bind"}[unbinding] + " failed: " + description
	if unbinding {
		status.UnbindStatus = sc.UnbindStatusFailed
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonUnbindCallFailed, message, b.Generation, false)
		return ctrl.Result{}, errors.New(message)
	}
	status.OrphanMitigationInProgress = true
	catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonBindCallFailed, message, b.Generation, true)
	return ctrl.Result{Requeue: true}, nil
}

// unbind revokes the binding at the broker (for a deletion or an orphan).
func (r *Reconciler) unbind(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus, t *target) (ctrl.Result, error) {
	if status.AsyncOpInProgress && status.CurrentOperation == OperationUnbind {
		return r.poll(ctx, b, status, t)
	}
	if result, err := r.claim(ctx, b, status, OperationUnbind); err != nil || !result.IsZero() {
		return result, err
	}
	res, err := t.client.Unbind(ctx, t.instance.Spec.ExternalID, b.Spec.ExternalID, t.class.Spec.ExternalID,
		t.instance.Status.ExternalProperties.ClusterServicePlanExternalID, catalogcall.Options())
	if err != nil {
		status.CurrentOperation, status.UnbindStatus = "", sc.UnbindStatusFailed
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, ReasonUnbindCallFailed, err.Error(), b.Generation, false)
		return ctrl.Result{}, err
	}
	if res.Async {
		status.AsyncOpInProgress, status.LastOperation = true, res.Operation
		return ctrl.Result{RequeueAfter: pollMin}, nil
	}
	r.unbound(status)
	return ctrl.Result{Requeue: true}, nil
}

func (r *Reconciler) unbound(status *sc.ServiceBindingStatus) {
	status.AsyncOpInProgress, status.CurrentOperation, status.LastOperation = false, "", ""
	if status.OrphanMitigationInProgress {
		status.OrphanMitigationInProgress = false
		status.UnbindStatus = sc.UnbindStatusNotRequired
		return
	}
	status.UnbindStatus = sc.UnbindStatusSucceeded
}

func (r *Reconciler) reconcileDelete(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(b, Finalizer) {
		return ctrl.Result{}, nil
	}
	if status.UnbindStatus != sc.UnbindStatusRequired && status.UnbindStatus != sc.UnbindStatusFailed && !status.AsyncOpInProgress {
		return ctrl.Result{}, r.release(ctx, b)
	}
	t, reason, err := r.resolve(ctx, b)
	if reason == ReasonNonexistentInstance && apierrors.IsNotFound(err) {
		// The instance is deprovisioned: its bindings went with it at the broker.
		return ctrl.Result{}, r.release(ctx, b)
	}
	if err != nil {
		catalogcall.SetConditions(&status.Conditions, metav1.ConditionFalse, reason, err.Error(), b.Generation, false)
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	}
	result, err := r.unbind(ctx, b, status, t)
	if status.UnbindStatus == sc.UnbindStatusSucceeded || status.UnbindStatus == sc.UnbindStatusNotRequired {
		return ctrl.Result{}, errors.Join(err, r.release(ctx, b))
	}
	return result, err
}

func (r *Reconciler) release(ctx context.Context, b *sc.ServiceBinding) error {
	controllerutil.RemoveFinalizer(b, Finalizer)
	if err := r.Update(ctx, b); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer of %s: %w", b.Name, err)
	}
	return nil
}

// claim records, before a call to the broker, the operation about to start (see
// catalogcall.Claim).
func (r *Reconciler) claim(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus, op string) (ctrl.Result, error) {
	status.CurrentOperation = op
	before := b.DeepCopy()
	b.Status = *status.DeepCopy()
	return catalogcall.Claim(ctx, r.Client, b, before)
}

func (r *Reconciler) writeStatus(ctx context.Context, b *sc.ServiceBinding, status *sc.ServiceBindingStatus) error {
	if equality.Semantic.DeepEqual(&b.Status, status) {
		return nil
	}
	before := b.DeepCopy()
	b.Status = *status
	return catalogcall.WriteStatus(ctx, r.Client, b, before)
}
