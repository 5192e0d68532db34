// Package website is the registry of Websites in kubia-apiserver: how they are stored
// (etcd, through genericapiserver's Store), what the API server does to them on create,
// update and status update, and how kubectl prints them.
package website

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubia-dev/kubia/api/extensions"
	"github.com/kubia-dev/kubia/api/extensions/validation"
)

// servedVersions are the versions whose managed fields the strategies reset.
var servedVersions = []string{"extensions.example.com/v1", "extensions.example.com/v1alpha1"}

// strategy is what the API server does to a Website written through the main resource:
// users own the spec, the controller owns the status.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func newStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields says the status is not the user's: server-side apply through the main
// resource neither sets it nor takes its ownership.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields("status")
}

// PrepareForCreate drops a status sent with a new Website (only the controller reports
// one) and starts the generation.
func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	w := obj.(*extensions.Website)
	w.Status = extensions.WebsiteStatus{}
	w.Generation = 1
}

// PrepareForUpdate keeps the stored status and bumps the generation when the spec
// changed, which is how the controller's observedGeneration tells a user their change
// was seen.
func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	w, oldW := obj.(*extensions.Website), old.(*extensions.Website)
	w.Status = oldW.Status
	if !apiequality.Semantic.DeepEqual(w.Spec, oldW.Spec) {
		w.Generation = oldW.Generation + 1
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateWebsite(obj.(*extensions.Website))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateWebsiteUpdate(obj.(*extensions.Website), old.(*extensions.Website))
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// statusStrategy is what the API server does to a Website written through its status
// subresource: only the status changes.
type statusStrategy struct {
	strategy
}

// GetResetFields says the spec is not the status writer's.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields("spec")
}

// PrepareForUpdate keeps everything but the status as stored, as core kinds' status
// subresources do (labels included: a status writer must not relabel).
func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	w, oldW := obj.(*extensions.Website), old.(*extensions.Website)
	w.Spec = oldW.Spec
	w.Labels = oldW.Labels
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateWebsiteStatusUpdate(obj.(*extensions.Website), old.(*extensions.Website))
}

func (statusStrategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

func resetFields(top string) map[fieldpath.APIVersion]*fieldpath.Set {
	out := make(map[fieldpath.APIVersion]*fieldpath.Set, len(servedVersions))
	for _, v := range servedVersions {
		out[fieldpath.APIVersion(v)] = fieldpath.NewSet(fieldpath.MakePathOrDie(top))
	}
	return out
}

// getAttrs gives the labels and the fields that label and field selectors match.
func getAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	w, ok := obj.(*extensions.Website)
	if !ok {
		return nil, nil, fmt.Errorf("not a Website: %T", obj)
	}
	set := generic.ObjectMetaFieldsSet(&w.ObjectMeta, true)
	for k, v := range extensions.WebsiteFieldSet(w) {
		set[k] = v
	}
	return w.Labels, set, nil
}

// matcher selects Websites by labels and fields, for lists and watches.
func matcher(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: getAttrs}
}
