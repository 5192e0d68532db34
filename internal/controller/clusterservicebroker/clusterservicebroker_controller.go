// Package clusterservicebroker reconciles ClusterServiceBrokers: it fetches each
// broker's catalog (on an interval, and when relistRequests is raised) and keeps one
// ClusterServiceClass per offering and one ClusterServicePlan per plan in step with it.
package clusterservicebroker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/catalogcall"
	"github.com/kubia-dev/kubia/internal/osb"
)

// Reasons of the broker's conditions and events.
const (
	ReasonFetchedCatalog       = "FetchedCatalog"
	ReasonErrorFetchingCatalog = "ErrorFetchingCatalog"
	ReasonErrorAuth            = "ErrorGettingAuthCredentials"
	ReasonErrorSyncingCatalog  = "ErrorSyncingCatalog"

	// MessageFetchedCatalog is the old Service Catalog's message, which users know.
	MessageFetchedCatalog = "Successfully fetched catalog entries from broker."

	// LabelBroker marks the classes and plans of a broker.
	LabelBroker = "servicecatalog.k8s.io/broker"
)

// catalogTimeout bounds a catalog fetch.
const catalogTimeout = 30 * time.Second

// Reconciler keeps each broker's classes and plans in step with its catalog.
type Reconciler struct {
	client.Client
	// APIReader reads the brokers' credential Secrets past the cache, which holds none.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// RequestTimeout bounds each request to a broker; 0 means osb.DefaultTimeout.
	RequestTimeout time.Duration
}

// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterservicebrokers,verbs=get;list;watch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterservicebrokers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses;clusterserviceplans,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=clusterserviceclasses/status;clusterserviceplans/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=servicecatalog.k8s.io,resources=serviceinstances,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sc.ClusterServiceBroker{}).
		Owns(&sc.ClusterServiceClass{}).
		Owns(&sc.ClusterServicePlan{}).
		Named("clusterservicebroker").
		Complete(r)
}

// Reconcile fetches the broker's catalog when due and syncs classes and plans.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	broker := &sc.ClusterServiceBroker{}
	if err := r.Get(ctx, req.NamespacedName, broker); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !broker.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // its classes and plans are garbage-collected
	}
	interval := ptr.Deref(broker.Spec.RelistInterval, metav1.Duration{Duration: 15 * time.Minute}).Duration
	if due := r.nextRelist(broker, interval); due > 0 {
		return ctrl.Result{RequeueAfter: due}, nil
	}
	status := broker.Status.DeepCopy()
	status.ObservedGeneration = broker.Generation
	catalog, reason, err := r.fetchCatalog(ctx, broker)
	if err == nil {
		if err = r.syncCatalog(ctx, broker, catalog); err != nil {
			reason = ReasonErrorSyncingCatalog
		}
	}
	if err != nil {
		r.Recorder.Eventf(broker, nil, corev1.EventTypeWarning, reason, "FetchCatalog", "%v", err)
		setCondition(status, metav1.ConditionFalse, reason, err.Error(), broker.Generation)
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, broker, status))
	}
	now := metav1.Now()
	status.LastCatalogRetrievalTime = &now
	setCondition(status, metav1.ConditionTrue, ReasonFetchedCatalog, MessageFetchedCatalog, broker.Generation)
	r.Recorder.Eventf(broker, nil, corev1.EventTypeNormal, ReasonFetchedCatalog, "FetchCatalog", "%s (%d services)", MessageFetchedCatalog, len(catalog.Services))
	return ctrl.Result{RequeueAfter: interval}, r.writeStatus(ctx, broker, status)
}

// nextRelist is how long until the catalog is due again; 0 when due now: never fetched,
// the spec changed (relistRequests raised), the last fetch failed, or the interval passed.
func (r *Reconciler) nextRelist(broker *sc.ClusterServiceBroker, interval time.Duration) time.Duration {
	last := broker.Status.LastCatalogRetrievalTime
	ready := meta.IsStatusConditionTrue(broker.Status.Conditions, sc.ConditionReady)
	if last == nil || !ready || broker.Status.ObservedGeneration != broker.Generation {
		return 0
	}
	return max(time.Until(last.Add(interval)), 0)
}

// fetchCatalog builds the broker's client from its spec and Secret and fetches the
// catalog; on failure it also says which reason the status gives.
func (r *Reconciler) fetchCatalog(ctx context.Context, broker *sc.ClusterServiceBroker) (*osb.Catalog, string, error) {
	c, err := r.osbClient(ctx, broker)
	if err != nil {
		return nil, ReasonErrorAuth, err
	}
	ctx, cancel := context.WithTimeout(ctx, catalogTimeout)
	defer cancel()
	catalog, err := c.GetCatalog(ctx)
	if err != nil {
		return nil, ReasonErrorFetchingCatalog, fmt.Errorf("fetching the catalog of %s: %w", broker.Spec.URL, err)
	}
	return catalog, "", nil
}

func (r *Reconciler) osbClient(ctx context.Context, broker *sc.ClusterServiceBroker) (*osb.Client, error) {
	return NewOSBClient(ctx, r.APIReader, broker, r.RequestTimeout)
}

// NewOSBClient is the client for a broker: its URL, its Secret's credentials (read with
// reader) and its TLS settings, each request bounded by timeout (0: osb.DefaultTimeout).
func NewOSBClient(ctx context.Context, reader client.Reader, broker *sc.ClusterServiceBroker, timeout time.Duration) (*osb.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// A client lives for one reconcile: a kept-alive connection would outlive it, idle.
	transport.DisableKeepAlives = true
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: broker.Spec.InsecureSkipTLSVerify} //nolint:gosec // the user's explicit choice
	if len(broker.Spec.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(broker.Spec.CABundle) {
			return nil, errors.New("spec.caBundle holds no PEM certificate")
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	if timeout == 0 {
		timeout = osb.DefaultTimeout
	}
	c := &osb.Client{URL: broker.Spec.URL, HTTPClient: &http.Client{Transport: transport, Timeout: timeout}}
	auth := broker.Spec.AuthInfo
	switch {
	case auth == nil:
	case auth.Basic != nil:
		data, err := secretData(ctx, reader, auth.Basic.SecretRef, "username", "password")
		if err != nil {
			return nil, err
		}
		c.Basic = &osb.Credentials{Username: data["username"], Password: data["password"]}
	case auth.Bearer != nil:
		data, err := secretData(ctx, reader, auth.Bearer.SecretRef, "token")
		if err != nil {
			return nil, err
		}
		c.Bearer = data["token"]
	}
	return c, nil
}

func secretData(ctx context.Context, reader client.Reader, ref sc.ObjectReference, keys ...string) (map[string]string, error) {
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, fmt.Errorf("reading the broker's credentials Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	out := map[string]string{}
	for _, key := range keys {
		value, ok := secret.Data[key]
		if !ok {
			return nil, fmt.Errorf("the broker's credentials Secret %s/%s has no key %q", ref.Namespace, ref.Name, key)
		}
		out[key] = string(value)
	}
	return out, nil
}

// syncCatalog creates or updates a class per service and a plan per plan, and marks
// (or, when no instance uses them, deletes) those the catalog no longer lists.
func (r *Reconciler) syncCatalog(ctx context.Context, broker *sc.ClusterServiceBroker, catalog *osb.Catalog) error {
	listed := map[string]bool{}
	for _, svc := range catalog.Services {
		class := desiredClass(broker, svc)
		if err := r.apply(ctx, broker, class, func(existing client.Object) { existing.(*sc.ClusterServiceClass).Spec = class.Spec }); err != nil {
			return err
		}
		listed["class/"+class.Name] = true
		for _, p := range svc.Plans {
			plan := desiredPlan(broker, class, p)
			if err := r.apply(ctx, broker, plan, func(existing client.Object) { existing.(*sc.ClusterServicePlan).Spec = plan.Spec }); err != nil {
				return err
			}
			listed["plan/"+plan.Name] = true
		}
	}
	return r.retireUnlisted(ctx, broker, listed)
}

// apply creates obj, or updates an existing one of the broker with setSpec, and clears
// its removed mark.
func (r *Reconciler) apply(ctx context.Context, broker *sc.ClusterServiceBroker, obj client.Object, setSpec func(client.Object)) error {
	existing := obj.DeepCopyObject().(client.Object)
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), existing)
	switch {
	case apierrors.IsNotFound(err):
		if err := controllerutil.SetControllerReference(broker, obj, r.Scheme()); err != nil {
			return err
		}
		if err := r.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s: %w", obj.GetName(), err)
		}
		return nil
	case err != nil:
		return err
	case !metav1.IsControlledBy(existing, broker):
		return fmt.Errorf("%s %q belongs to another broker", kindOf(obj), obj.GetName())
	}
	before := existing.DeepCopyObject().(client.Object)
	setSpec(existing)
	if !equality.Semantic.DeepEqual(before, existing) {
		if err := r.Update(ctx, existing); err != nil {
			return fmt.Errorf("updating %s: %w", obj.GetName(), err)
		}
	}
	return r.setRemoved(ctx, existing, false)
}

// retireUnlisted handles the broker's classes and plans the catalog no longer lists:
// deleted when no instance uses them, else marked removed.
func (r *Reconciler) retireUnlisted(ctx context.Context, broker *sc.ClusterServiceBroker, listed map[string]bool) error {
	var instances sc.ServiceInstanceList
	if err := r.List(ctx, &instances); err != nil {
		return fmt.Errorf("listing instances: %w", err)
	}
	usedClass, usedPlan := map[string]bool{}, map[string]bool{}
	for _, inst := range instances.Items {
		usedClass[ClassName(inst.Spec.ClusterServiceClassName)] = true
		usedPlan[PlanName(inst.Spec.ClusterServiceClassName, inst.Spec.ClusterServicePlanName)] = true
	}
	var classes sc.ClusterServiceClassList
	if err := r.List(ctx, &classes, client.MatchingLabels{LabelBroker: broker.Name}); err != nil {
		return err
	}
	var plans sc.ClusterServicePlanList
	if err := r.List(ctx, &plans, client.MatchingLabels{LabelBroker: broker.Name}); err != nil {
		return err
	}
	var errs []error
	for i := range plans.Items {
		if p := &plans.Items[i]; !listed["plan/"+p.Name] {
			errs = append(errs, r.retire(ctx, p, usedPlan[p.Name]))
		}
	}
	for i := range classes.Items {
		if c := &classes.Items[i]; !listed["class/"+c.Name] {
			errs = append(errs, r.retire(ctx, c, usedClass[c.Name]))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) retire(ctx context.Context, obj client.Object, used bool) error {
	if used {
		return r.setRemoved(ctx, obj, true)
	}
	if err := r.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	log.FromContext(ctx).Info("Deleted what the catalog no longer lists", "kind", kindOf(obj), "name", obj.GetName())
	return nil
}

// setRemoved writes status.removedFromBrokerCatalog when it changes.
func (r *Reconciler) setRemoved(ctx context.Context, obj client.Object, removed bool) error {
	switch o := obj.(type) {
	case *sc.ClusterServiceClass:
		if o.Status.RemovedFromBrokerCatalog == removed {
			return nil
		}
		o.Status.RemovedFromBrokerCatalog = removed
	case *sc.ClusterServicePlan:
		if o.Status.RemovedFromBrokerCatalog == removed {
			return nil
		}
		o.Status.RemovedFromBrokerCatalog = removed
	}
	if err := r.Status().Update(ctx, obj); err != nil {
		return fmt.Errorf("marking %s %s removed=%v: %w", kindOf(obj), obj.GetName(), removed, err)
	}
	return nil
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*sc.ClusterServiceClass); ok {
		return "ClusterServiceClass"
	}
	return "ClusterServicePlan"
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9.-]+`)

// ClassName is the object name of the class a catalog name (as postgres-database) names:
// the name itself, lowercased, with characters names may not hold replaced by '-'.
func ClassName(externalName string) string {
	return strings.Trim(invalidNameChars.ReplaceAllString(strings.ToLower(externalName), "-"), "-.")
}

// PlanName is the object name of a class's plan: <class>-<plan>.
func PlanName(classExternalName, planExternalName string) string {
	return ClassName(classExternalName) + "-" + ClassName(planExternalName)
}

func desiredClass(broker *sc.ClusterServiceBroker, svc osb.Service) *sc.ClusterServiceClass {
	return &sc.ClusterServiceClass{
		ObjectMeta: metav1.ObjectMeta{Name: ClassName(svc.Name), Labels: map[string]string{LabelBroker: broker.Name}},
		Spec: sc.ClusterServiceClassSpec{
			ClusterServiceBrokerName: broker.Name,
			ExternalName:             svc.Name,
			ExternalID:               svc.ID,
			Description:              svc.Description,
			Bindable:                 svc.Bindable,
			PlanUpdatable:            svc.PlanUpdateable,
			InstancesRetrievable:     svc.InstancesRetrievable,
			BindingRetrievable:       svc.BindingsRetrievable,
			Tags:                     svc.Tags,
			Requires:                 svc.Requires,
			ExternalMetadata:         rawJSON(svc.Metadata),
		},
	}
}

func desiredPlan(broker *sc.ClusterServiceBroker, class *sc.ClusterServiceClass, p osb.Plan) *sc.ClusterServicePlan {
	plan := &sc.ClusterServicePlan{
		ObjectMeta: metav1.ObjectMeta{Name: PlanName(class.Spec.ExternalName, p.Name), Labels: map[string]string{LabelBroker: broker.Name}},
		Spec: sc.ClusterServicePlanSpec{
			ClusterServiceBrokerName: broker.Name,
			ClusterServiceClassRef:   sc.ClusterObjectReference{Name: class.Name},
			ExternalName:             p.Name,
			ExternalID:               p.ID,
			Description:              p.Description,
			Free:                     ptr.Deref(p.Free, true),
			Bindable:                 p.Bindable,
			ExternalMetadata:         rawJSON(p.Metadata),
		},
	}
	if s := p.Schemas; s != nil {
		if s.ServiceInstance != nil && s.ServiceInstance.Create != nil {
			plan.Spec.InstanceCreateParameterSchema = raw(s.ServiceInstance.Create.Parameters)
		}
		if s.ServiceInstance != nil && s.ServiceInstance.Update != nil {
			plan.Spec.InstanceUpdateParameterSchema = raw(s.ServiceInstance.Update.Parameters)
		}
		if s.ServiceBinding != nil && s.ServiceBinding.Create != nil {
			plan.Spec.ServiceBindingCreateParameterSchema = raw(s.ServiceBinding.Create.Parameters)
		}
	}
	return plan
}

// rawJSON is m as a RawExtension, in the compact, key-sorted form the API server keeps,
// so an unchanged catalog compares equal to what is stored.
func rawJSON(m map[string]any) *runtime.RawExtension {
	if len(m) == 0 {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return &runtime.RawExtension{Raw: data}
}

// raw is a JSON document (a broker's schema) in that same form.
func raw(data []byte) *runtime.RawExtension {
	var v map[string]any
	if len(data) == 0 || json.Unmarshal(data, &v) != nil {
		return nil
	}
	return rawJSON(v)
}

func setCondition(status *sc.ClusterServiceBrokerStatus, ready metav1.ConditionStatus, reason, message string, gen int64) {
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: sc.ConditionReady, Status: ready, Reason: reason, Message: message, ObservedGeneration: gen})
	failed := metav1.ConditionFalse
	if ready == metav1.ConditionFalse {
		failed = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: sc.ConditionFailed, Status: failed, Reason: reason, Message: message, ObservedGeneration: gen})
}

func (r *Reconciler) writeStatus(ctx context.Context, broker *sc.ClusterServiceBroker, status *sc.ClusterServiceBrokerStatus) error {
	if equality.Semantic.DeepEqual(&broker.Status, status) {
		return nil
	}
	before := broker.DeepCopy()
	broker.Status = *status
	return catalogcall.WriteStatus(ctx, r.Client, broker, before)
}
