package controller

import (
	"context"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubia-dev/kubia/internal/router/admission"
)

// updateStatus writes r's status entry for this router when it differs from d (the
// transition time aside): an unchanged route is never written, so status writes cause no
// further syncs beyond one no-op.
func (c *Controller) updateStatus(ctx context.Context, r *routev1.Route, d admission.Decision) error {
	want := c.ingressEntry(r, d)
	i := entryIndex(r, c.opts.Name)
	if i >= 0 && sameEntry(r.Status.Ingress[i], want) {
		return nil
	}
	updated := r.DeepCopy()
	if i >= 0 {
		updated.Status.Ingress[i] = want
	} else {
		updated.Status.Ingress = append(updated.Status.Ingress, want)
	}
	return c.routes.Put().Namespace(r.Namespace).Resource("routes").Name(r.Name).SubResource("status").
		Body(updated).Do(ctx).Error()
}

// ingressEntry is this router's status entry for a decision, OpenShift's shape.
func (c *Controller) ingressEntry(r *routev1.Route, d admission.Decision) routev1.RouteIngress {
	cond := routev1.RouteIngressCondition{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue,
		LastTransitionTime: &metav1.Time{Time: metav1.Now().Rfc3339Copy().Time}}
	if !d.Admitted {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, d.Reason, d.Message
	}
	policy := r.Spec.WildcardPolicy
	if policy == "" {
		policy = routev1.WildcardPolicyNone
	}
	return routev1.RouteIngress{Host: c.hostOf(r), RouterName: c.opts.Name, WildcardPolicy: policy,
		RouterCanonicalHostname: c.opts.CanonicalHostname, Conditions: []routev1.RouteIngressCondition{cond}}
}

func entryIndex(r *routev1.Route, router string) int {
	for i, in := range r.Status.Ingress {
		if in.RouterName == router {
			return i
		}
	}
	return -1
}

// sameEntry compares entries as OpenShift's router does: everything but the transition
// time.
func sameEntry(a, b routev1.RouteIngress) bool {
	if a.Host != b.Host || a.RouterName != b.RouterName || a.WildcardPolicy != b.WildcardPolicy ||
		a.RouterCanonicalHostname != b.RouterCanonicalHostname || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}
