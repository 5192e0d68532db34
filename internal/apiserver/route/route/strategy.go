package route

import (
	"context"

	routev1 "github.com/openshift/api/route/v1"
	routecommon "github.com/openshift/library-go/pkg/route"
	"github.com/openshift/library-go/pkg/route/hostassignment"
	"github.com/openshift/library-go/pkg/route/validation"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// strategy is what the API server does to a Route written through the main resource, as
// openshift-apiserver's route strategy does: the status is the routers', an empty host is
// generated on create and kept on update, setting a host or certificates needs the
// routes/custom-host permission, and a spec change bumps the generation.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	hosts   hostassignment.HostnameGenerator
	sar     routecommon.SubjectAccessReviewCreator
	secrets corev1client.SecretsGetter
}

func (strategy) NamespaceScoped() bool { return true }

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	r := obj.(*routev1.Route)
	r.Status = routev1.RouteStatus{}
	r.Generation = 1
}

// PrepareForUpdate keeps the status and, when the update leaves it empty, the host:
// re-applying the manifest a Route was created from (no host) is no attempt to clear it.
func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	r, oldRoute := obj.(*routev1.Route), old.(*routev1.Route)
	r.Status = oldRoute.Status
	if r.Spec.Host == "" {
		r.Spec.Host = oldRoute.Spec.Host
	}
	r.Generation = oldRoute.Generation
	if !apiequality.Semantic.DeepEqual(oldRoute.Spec, r.Spec) {
		r.Generation++
	}
}

// Validate assigns the host first, as openshift-apiserver does, so that validation sees
// the host the Route is stored with.
func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	r := obj.(*routev1.Route)
	if errs := hostassignment.AllocateHost(ctx, r, s.sar, s.hosts); len(errs) > 0 {
		return errs
	}
	return validation.ValidateRoute(ctx, r, s.sar, s.secrets)
}

func (strategy) WarningsOnCreate(_ context.Context, obj runtime.Object) []string {
	return validation.Warnings(obj.(*routev1.Route))
}

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

// AllowUnconditionalUpdate is false, as on OpenShift: an update must carry the
// resourceVersion it read.
func (strategy) AllowUnconditionalUpdate(context.Context) bool { return false }

func (strategy) Canonicalize(runtime.Object) {}

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	r, oldRoute := obj.(*routev1.Route), old.(*routev1.Route)
	errs := hostassignment.ValidateHostUpdate(ctx, r, oldRoute, s.sar)
	return append(errs, validation.ValidateRouteUpdate(ctx, r, oldRoute, s.sar, s.secrets)...)
}

func (strategy) WarningsOnUpdate(_ context.Context, obj, _ runtime.Object) []string {
	return validation.Warnings(obj.(*routev1.Route))
}

// statusStrategy is what the API server does to a Route written through its status
// subresource, by a router: only the status changes.
type statusStrategy struct {
	strategy
}

// PrepareForUpdate keeps everything but the status as stored.
func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*routev1.Route).Spec = old.(*routev1.Route).Spec
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateRouteStatusUpdate(obj.(*routev1.Route), old.(*routev1.Route))
}
