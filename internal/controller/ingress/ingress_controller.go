// Package ingress turns Ingresses into Routes, as OpenShift's ingress-to-route controller
// (openshift/route-controller-manager) does, so that kubia-router serves Ingresses too:
// a Route per rule host and path, owned by the Ingress, kept in line with it, and the
// routers that admitted them reported in the Ingress's status.
package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

const (
	// ControllerName is what an IngressClass's spec.controller says for Ingresses this
	// controller turns into Routes: OpenShift's, so OpenShift's IngressClasses work too.
	ControllerName = routev1.IngressToRouteIngressClassControllerName
	// terminationAnnotation chooses edge (the default), passthrough or reencrypt.
	terminationAnnotation = "route.openshift.io/termination"
	// destinationCAAnnotation names a Secret whose tls.crt verifies reencrypt backends.
	destinationCAAnnotation = "route.openshift.io/destination-ca-certificate-secret"
	// secretRecheck is how often Ingresses naming TLS Secrets are looked at again: the
	// controller reads Secrets one by one (get only) rather than watching every Secret.
	secretRecheck = 10 * time.Minute
)

// Reconciler keeps each Ingress's Routes.
type Reconciler struct {
	client.Client
	// APIReader reads Routes and Secrets from the API server, not the cache: a Route
	// created a moment ago must be seen, or it would be created twice.
	APIReader client.Reader
}

// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses/status,verbs=update
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes,verbs=get;list;watch;create;update;patch;delete
// Routes of an Ingress carry its hosts and certificates.
// +kubebuilder:rbac:groups=route.openshift.io,resources=routes/custom-host,verbs=create;update
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// SetupWithManager watches Ingresses, their Routes, Services and IngressClasses.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	namespaceIngresses := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.ingressesOf(ctx, o.GetNamespace())
	})
	allIngresses := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		return r.ingressesOf(ctx, "")
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&networkingv1.Ingress{}).
		Owns(&routev1.Route{}).
		Watches(&corev1.Service{}, namespaceIngresses).
		Watches(&networkingv1.IngressClass{}, allIngresses).
		Named("ingress-to-route").
		Complete(r)
}

func (r *Reconciler) ingressesOf(ctx context.Context, ns string) []reconcile.Request {
	var list networkingv1.IngressList
	if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, in := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: in.Namespace, Name: in.Name}})
	}
	return out
}

// Reconcile creates, updates and deletes the Ingress's Routes and reports the routers
// that admitted them.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ing networkingv1.Ingress
	if err := r.Get(ctx, req.NamespacedName, &ing); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err) // its Routes go with it: they are owned
	}
	if managed, err := r.managed(ctx, &ing); err != nil || !managed {
		return ctrl.Result{}, err
	}
	var routes routev1.RouteList
	if err := r.APIReader.List(ctx, &routes, client.InNamespace(ing.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing routes: %w", err)
	}
	old := ownedRoutes(routes.Items, ing.Name)
	var creates, updates, matches []*routev1.Route
	usesSecrets := len(ing.Spec.TLS) > 0 || ing.Annotations[destinationCAAnnotation] != ""
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		if rule.HTTP == nil || rule.Host == "" {
			continue
		}
		for j := range rule.HTTP.Paths {
			path := &rule.HTTP.Paths[j]
			if path.Backend.Service == nil || path.Backend.Service.Name == "" ||
				(path.PathType != nil && *path.PathType == networkingv1.PathTypeExact) {
				continue // not implemented, as in OpenShift
			}
			var existing *routev1.Route
			old, existing = takeRoute(old, rule.Host, path.Path)
			want, err := r.routeFor(ctx, &ing, rule, path)
			switch {
			case err != nil:
				log.FromContext(ctx).V(1).Info("No route for the path yet", "host", rule.Host, "path", path.Path, "reason", err.Error())
				if existing != nil {
					old = append(old, existing) // it can no longer be made: delete it
				}
			case existing == nil:
				creates = append(creates, want)
			case matchesIngress(existing, want):
				matches = append(matches, existing)
			default:
				preserveUserFields(want, existing)
				updates = append(updates, want)
			}
		}
	}
	errs := r.apply(ctx, &ing, creates, updates, old)
	errs = append(errs, r.updateStatus(ctx, &ing, old, matches))
	result := ctrl.Result{}
	if usesSecrets {
		result.RequeueAfter = secretRecheck
	}
	return result, errors.Join(errs...)
}

// managed tells whether the Ingress is this controller's: no class (the annotation
// kubernetes.io/ingress.class first, then spec.ingressClassName), or a class whose
// controller is ControllerName.
func (r *Reconciler) managed(ctx context.Context, ing *networkingv1.Ingress) (bool, error) {
	class := ing.Spec.IngressClassName
	if v, ok := ing.Annotations["kubernetes.io/ingress.class"]; ok {
		class = &v
	}
	if class == nil {
		return true, nil
	}
	var ic networkingv1.IngressClass
	if err := r.Get(ctx, client.ObjectKey{Name: *class}, &ic); apierrors.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return ic.Spec.Controller == ControllerName, nil
}

func ownedRoutes(routes []routev1.Route, ingress string) []*routev1.Route {
	var out []*routev1.Route
	for i := range routes {
		if ref := metav1.GetControllerOf(&routes[i]); ref != nil && ref.Kind == "Ingress" && ref.Name == ingress &&
			(ref.APIVersion == "networking.k8s.io/v1" || ref.APIVersion == "networking.k8s.io/v1beta1" || ref.APIVersion == "extensions/v1beta1") {
			out = append(out, &routes[i])
		}
	}
	return out
}

// takeRoute removes the route of host and path from routes and returns it.
func takeRoute(routes []*routev1.Route, host, path string) ([]*routev1.Route, *routev1.Route) {
	for i, rt := range routes {
		if rt.Spec.Host == host && rt.Spec.Path == path {
			return append(routes[:i:i], routes[i+1:]...), rt
		}
	}
	return routes, nil
}

// routeFor is the Route of one rule's path, OpenShift's: named after the Ingress with a
// random suffix, its labels and annotations, the service port's name as target port
// (none for an unnamed port: every port of the endpoints), and TLS as the Ingress says.
func (r *Reconciler) routeFor(ctx context.Context, ing *networkingv1.Ingress, rule *networkingv1.IngressRule, path *networkingv1.HTTPIngressPath) (*routev1.Route, error) {
	port, err := r.targetPort(ctx, ing.Namespace, path.Backend.Service)
	if err != nil {
		return nil, err
	}
	tls, err := r.tlsFor(ctx, ing, rule)
	if err != nil {
		return nil, err
	}
	rt := &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: ing.Namespace, Labels: ing.Labels, Annotations: ing.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: ing.Name, UID: ing.UID,
				Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}}},
		Spec: routev1.RouteSpec{Host: rule.Host, Path: path.Path, To: routev1.RouteTargetReference{Kind: "Service", Name: path.Backend.Service.Name},
			TLS: tls, WildcardPolicy: routev1.WildcardPolicyNone},
	}
	if port != nil {
		rt.Spec.Port = &routev1.RoutePort{TargetPort: *port}
	}
	return rt, nil
}

func ptrTo[T any](v T) *T { return &v }

// targetPort is the name of the Service port the backend names (nil for an unnamed one).
func (r *Reconciler) targetPort(ctx context.Context, ns string, b *networkingv1.IngressServiceBackend) (*intstr.IntOrString, error) {
	var svc corev1.Service
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: b.Name}, &svc); err != nil {
		return nil, fmt.Errorf("service %s: %w", b.Name, err)
	}
	for _, p := range svc.Spec.Ports {
		if (b.Port.Name != "" && p.Name == b.Port.Name) || (b.Port.Name == "" && p.Port == b.Port.Number) {
			if p.Name == "" {
				return nil, nil
			}
			name := intstr.FromString(p.Name)
			return &name, nil
		}
	}
	return nil, fmt.Errorf("service %s has no port %s", b.Name, portString(b.Port))
}

func portString(p networkingv1.ServiceBackendPort) string {
	if p.Name != "" {
		return p.Name
	}
	return fmt.Sprint(p.Number)
}

// tlsFor is the Route's TLS: on when the termination annotation is set, the rule's host
// has a TLS Secret, or spec.tls has an empty entry; edge unless the annotation says
// otherwise; plain HTTP redirected. A named Secret that is missing or not
// kubernetes.io/tls with both keys means no route, as in OpenShift.
func (r *Reconciler) tlsFor(ctx context.Context, ing *networkingv1.Ingress, rule *networkingv1.IngressRule) (*routev1.TLSConfig, error) {
	secret, err := r.tlsSecret(ctx, ing, rule.Host)
	if err != nil {
		return nil, err
	}
	termination := routev1.TLSTerminationEdge
	enabled := secret != nil
	switch t := routev1.TLSTerminationType(ing.Annotations[terminationAnnotation]); t {
	case routev1.TLSTerminationEdge, routev1.TLSTerminationPassthrough, routev1.TLSTerminationReencrypt:
		termination, enabled = t, true
	}
	for _, t := range ing.Spec.TLS {
		if reflect.DeepEqual(t, networkingv1.IngressTLS{}) {
			enabled = true
		}
	}
	if !enabled {
		return nil, nil
	}
	tls := &routev1.TLSConfig{Termination: termination, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect}
	if termination != routev1.TLSTerminationPassthrough && secret != nil {
		tls.Certificate, tls.Key = string(secret.Data[corev1.TLSCertKey]), string(secret.Data[corev1.TLSPrivateKeyKey])
	}
	if name := ing.Annotations[destinationCAAnnotation]; termination == routev1.TLSTerminationReencrypt && name != "" {
		var ca corev1.Secret
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ing.Namespace, Name: name}, &ca); err != nil {
			return nil, fmt.Errorf("destination CA secret %s: %w", name, err)
		}
		tls.DestinationCACertificate = string(ca.Data[corev1.TLSCertKey])
	}
	return tls, nil
}

// tlsSecret is the valid TLS Secret spec.tls names for host, nil when none is named.
func (r *Reconciler) tlsSecret(ctx context.Context, ing *networkingv1.Ingress, host string) (*corev1.Secret, error) {
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			if h != host {
				continue
			}
			var s corev1.Secret
			if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ing.Namespace, Name: t.SecretName}, &s); err != nil {
				return nil, fmt.Errorf("TLS secret %s: %w", t.SecretName, err)
			}
			if s.Type != corev1.SecretTypeTLS || len(s.Data[corev1.TLSCertKey]) == 0 || len(s.Data[corev1.TLSPrivateKeyKey]) == 0 {
				return nil, fmt.Errorf("TLS secret %s is not a kubernetes.io/tls Secret with tls.crt and tls.key", t.SecretName)
			}
			return &s, nil
		}
	}
	return nil, nil
}

// matchesIngress tells whether existing is what the Ingress describes, but for what users
// may change on it (the weight, the insecure policy, the CA certificates).
func matchesIngress(existing, want *routev1.Route) bool {
	w := want.DeepCopy()
	preserveUserFields(w, existing)
	return existing.Spec.Host == w.Spec.Host && existing.Spec.Path == w.Spec.Path && existing.Spec.To.Name == w.Spec.To.Name &&
		existing.Spec.WildcardPolicy == routev1.WildcardPolicyNone && len(existing.Spec.AlternateBackends) == 0 &&
		reflect.DeepEqual(existing.Annotations, w.Annotations) && reflect.DeepEqual(existing.Spec.Port, w.Spec.Port) &&
		reflect.DeepEqual(existing.Spec.TLS, w.Spec.TLS)
}

// preserveUserFields keeps, as OpenShift does, the fields users may set on an Ingress's
// Route: its name, weight, insecure policy and CA certificates.
func preserveUserFields(want, existing *routev1.Route) {
	want.Name = existing.Name
	want.Spec.To.Weight = existing.Spec.To.Weight
	if want.Spec.TLS != nil && existing.Spec.TLS != nil {
		want.Spec.TLS.CACertificate = existing.Spec.TLS.CACertificate
		if want.Spec.TLS.DestinationCACertificate == "" {
			want.Spec.TLS.DestinationCACertificate = existing.Spec.TLS.DestinationCACertificate
		}
		want.Spec.TLS.InsecureEdgeTerminationPolicy = existing.Spec.TLS.InsecureEdgeTerminationPolicy
	}
}

// apply creates, updates (spec, annotations and owners replaced, as OpenShift patches
// them) and deletes routes.
func (r *Reconciler) apply(ctx context.Context, ing *networkingv1.Ingress, creates, updates, deletes []*routev1.Route) []error {
	var errs []error
	for _, rt := range creates {
		errs = append(errs, r.create(ctx, ing, rt))
	}
	for _, rt := range updates {
		patch, err := json.Marshal([]map[string]any{
			{"op": "replace", "path": "/spec", "value": rt.Spec},
			{"op": "replace", "path": "/metadata/annotations", "value": rt.Annotations},
			{"op": "replace", "path": "/metadata/ownerReferences", "value": rt.OwnerReferences},
		})
		if err == nil {
			err = r.Patch(ctx, rt, client.RawPatch(types.JSONPatchType, patch))
		}
		errs = append(errs, err)
	}
	for _, rt := range deletes {
		errs = append(errs, client.IgnoreNotFound(r.Delete(ctx, rt)))
	}
	return errs
}

// create names the route <ingress>-<5 random characters>, trying again on a collision.
func (r *Reconciler) create(ctx context.Context, ing *networkingv1.Ingress, rt *routev1.Route) error {
	base := ing.Name
	if len(base) > 57 {
		base = base[:57]
	}
	var err error
	for i := 0; i < 3; i++ {
		rt.Name = base + "-" + utilrand.String(5)
		if err = r.Create(ctx, rt); !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return err
}

// updateStatus sets status.loadBalancer.ingress[].hostname to the canonical hostnames of
// the routers that admitted the Ingress's routes, keeping what other controllers wrote, as
// OpenShift does.
func (r *Reconciler) updateStatus(ctx context.Context, ing *networkingv1.Ingress, deleted, current []*routev1.Route) error {
	names := map[string]bool{}
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		names[lb.Hostname] = true
	}
	before := len(names)
	changed := false
	for _, rt := range deleted {
		for _, h := range admittedBy(rt) {
			if names[h] {
				delete(names, h)
				changed = true
			}
		}
	}
	for _, rt := range current {
		for _, h := range admittedBy(rt) {
			if !names[h] {
				names[h] = true
				changed = true
			}
		}
	}
	if !changed && len(names) == before {
		return nil
	}
	sorted := make([]string, 0, len(names))
	for h := range names {
		sorted = append(sorted, h)
	}
	sort.Strings(sorted)
	updated := ing.DeepCopy()
	updated.Status.LoadBalancer.Ingress = nil
	for _, h := range sorted {
		updated.Status.LoadBalancer.Ingress = append(updated.Status.LoadBalancer.Ingress, networkingv1.IngressLoadBalancerIngress{Hostname: h})
	}
	return r.Status().Update(ctx, updated)
}

// admittedBy lists the canonical hostnames of the routers that admitted rt.
func admittedBy(rt *routev1.Route) []string {
	var out []string
	for _, in := range rt.Status.Ingress {
		for _, c := range in.Conditions {
			if c.Type == routev1.RouteAdmitted && c.Status == corev1.ConditionTrue && in.RouterCanonicalHostname != "" {
				out = append(out, in.RouterCanonicalHostname)
			}
		}
	}
	return out
}
