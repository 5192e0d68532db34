// Package servicemirror gives a selector-less Service the endpoints of a Service of the
// same name in another namespace. The book's APIService (website-apiservice.yaml) routes
// to Service website-api in `default`, while kubia-apiserver's pods run in the release's
// namespace, and a selector only picks pods of its own namespace. kube-aggregator and
// kube-proxy both route to a Service's EndpointSlices, so copies of the source Service's
// slices make `default/website-api` lead to the same pods. (An ExternalName Service is no
// way out: kube-aggregator's endpoint routing refuses it, and its service routing would
// resolve the name with kube-apiserver's host resolver, which knows no cluster DNS.)
package servicemirror

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ManagedBy is the value of the copies' endpointslice.kubernetes.io/managed-by label, which
// keeps kube-controller-manager's EndpointSlice controllers off them.
const ManagedBy = "servicemirror.kubia.dev"

// targetMissingRetry is how often a mirror whose target Service does not exist looks
// again: nothing else announces it (the manager's cache holds only Kubia's own Services).
const targetMissingRetry = time.Minute

// Mirror names what is copied: the EndpointSlices of Service Source go to the Service of
// the same name in TargetNamespace.
type Mirror struct {
	Source          types.NamespacedName
	TargetNamespace string
}

// Target is the Service that gets the endpoints.
func (m Mirror) Target() types.NamespacedName {
	return types.NamespacedName{Namespace: m.TargetNamespace, Name: m.Source.Name}
}

// ParseMirror reads "NAMESPACE/NAME=TARGET_NAMESPACE".
func ParseMirror(s string) (Mirror, error) {
	var m Mirror
	source, target, ok := strings.Cut(s, "=")
	ns, name, okSource := strings.Cut(source, "/")
	if !ok || !okSource || ns == "" || name == "" || target == "" || target == ns {
		return m, fmt.Errorf("%q is not NAMESPACE/NAME=TARGET_NAMESPACE with two different namespaces", s)
	}
	m.Source, m.TargetNamespace = types.NamespacedName{Namespace: ns, Name: name}, target
	return m, nil
}

// CacheOptions limit the manager's cache of EndpointSlices to the mirror's two Services'
// own, in their two namespaces (which is also all its RBAC Roles let it list).
func (m Mirror) CacheOptions() cache.ByObject {
	return cache.ByObject{
		Namespaces: map[string]cache.Config{m.Source.Namespace: {}, m.TargetNamespace: {}},
		Label:      labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: m.Source.Name}),
	}
}

// Reconciler keeps the target Service's copies equal to the source Service's slices.
type Reconciler struct {
	client.Client
	// APIReader reads the target Service, which the cache does not hold.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Mirror    Mirror
}

// SetupWithManager registers the controller: every change of either Service's slices
// reconciles the one mirror.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: r.Mirror.Target()}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("servicemirror").
		Watches(&discoveryv1.EndpointSlice{}, one, builder.WithPredicates(predicate.NewPredicateFuncs(r.concerns))).
		Complete(r)
}

// concerns tells whether a slice is the source Service's or one of the copies.
func (r *Reconciler) concerns(obj client.Object) bool {
	if obj.GetLabels()[discoveryv1.LabelServiceName] != r.Mirror.Source.Name {
		return false
	}
	return obj.GetNamespace() == r.Mirror.Source.Namespace ||
		obj.GetNamespace() == r.Mirror.TargetNamespace && obj.GetLabels()[discoveryv1.LabelManagedBy] == ManagedBy
}

// Reconcile creates, updates and deletes the copies so they match the source's slices.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	target := &corev1.Service{}
	if err := r.APIReader.Get(ctx, r.Mirror.Target(), target); err != nil {
		if apierrors.IsNotFound(err) {
			logger.Info("The mirror's target Service does not exist", "service", r.Mirror.Target())
			return ctrl.Result{RequeueAfter: targetMissingRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Service %s: %w", r.Mirror.Target(), err)
	}
	if len(target.Spec.Selector) > 0 {
		// Its own EndpointSlice controller fills it; two writers would fight.
		r.Recorder.Eventf(target, nil, corev1.EventTypeWarning, "SelectorSet", "Mirror",
			"Not copying the endpoints of Service %s: this Service has a selector", r.Mirror.Source)
		return ctrl.Result{}, nil
	}
	sources, copies, err := r.slices(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	for name, source := range sources {
		if err := r.apply(ctx, target, source, copies[name]); err != nil {
			return ctrl.Result{}, err
		}
	}
	for name, stale := range copies {
		if _, ok := sources[name]; ok {
			continue
		}
		if err := r.Delete(ctx, stale); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting EndpointSlice %s/%s: %w", stale.Namespace, stale.Name, err)
		}
		logger.Info("Deleted a copy whose source is gone", "endpointSlice", stale.Name)
	}
	return ctrl.Result{}, nil
}

// slices returns the source Service's slices and the copies, by name (a copy is named
// after its source).
func (r *Reconciler) slices(ctx context.Context) (sources, copies map[string]*discoveryv1.EndpointSlice, err error) {
	byName := func(ns string, set labels.Set) (map[string]*discoveryv1.EndpointSlice, error) {
		var list discoveryv1.EndpointSliceList
		if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels(set)); err != nil {
			return nil, fmt.Errorf("listing the EndpointSlices of Service %s/%s: %w", ns, r.Mirror.Source.Name, err)
		}
		m := make(map[string]*discoveryv1.EndpointSlice, len(list.Items))
		for i := range list.Items {
			m[list.Items[i].Name] = &list.Items[i]
		}
		return m, nil
	}
	service := labels.Set{discoveryv1.LabelServiceName: r.Mirror.Source.Name}
	if sources, err = byName(r.Mirror.Source.Namespace, service); err != nil {
		return nil, nil, err
	}
	// Slices of the target's other writers (none, with no selector) are left alone.
	copies, err = byName(r.Mirror.TargetNamespace, labels.Merge(service, labels.Set{discoveryv1.LabelManagedBy: ManagedBy}))
	return sources, copies, err
}

// apply makes the copy of source (existing may be nil) hold the same endpoints and ports.
func (r *Reconciler) apply(ctx context.Context, target *corev1.Service, source, existing *discoveryv1.EndpointSlice) error {
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: target.Namespace, Name: source.Name, Labels: map[string]string{
			discoveryv1.LabelServiceName: target.Name,
			discoveryv1.LabelManagedBy:   ManagedBy,
		}},
		AddressType: source.AddressType,
		Endpoints:   source.Endpoints,
		Ports:       source.Ports,
	}
	// Deleting the target Service deletes its copies.
	if err := controllerutil.SetControllerReference(target, want, r.Scheme()); err != nil {
		return err
	}
	if existing == nil {
		if err := r.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating EndpointSlice %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	if existing.AddressType != want.AddressType {
		// The address type is immutable: replace the copy; the next event recreates it.
		return client.IgnoreNotFound(r.Delete(ctx, existing))
	}
	if apiequality.Semantic.DeepEqual(existing.Endpoints, want.Endpoints) && apiequality.Semantic.DeepEqual(existing.Ports, want.Ports) &&
		maps.Equal(existing.Labels, want.Labels) && apiequality.Semantic.DeepEqual(existing.OwnerReferences, want.OwnerReferences) {
		return nil
	}
	updated := existing.DeepCopy()
	updated.Labels, updated.OwnerReferences = want.Labels, want.OwnerReferences
	updated.Endpoints, updated.Ports = want.Endpoints, want.Ports
	if err := r.Update(ctx, updated); err != nil {
		return fmt.Errorf("updating EndpointSlice %s/%s: %w", updated.Namespace, updated.Name, err)
	}
	return nil
}
