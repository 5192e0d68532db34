package templateinstance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/template/validation"
)

// strategy is what the API server does to a TemplateInstance written through the main
// resource, as openshift-apiserver does: the requester defaults to the user creating it,
// and only a user allowed to "assign" templateinstances may name someone else, since the
// controller creates the objects with the requester's rights.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	authz authorizer.Authorizer
}

func (strategy) NamespaceScoped() bool { return true }

// PrepareForCreate fills in the requester from the request's user when none is given, and
// drops any status: only the controller reports one.
func (strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	ti := obj.(*templatev1.TemplateInstance)
	if ti.Spec.Requester == nil {
		if u, ok := genericapirequest.UserFrom(ctx); ok {
			ti.Spec.Requester = requesterOf(u)
		}
	}
	ti.Status = templatev1.TemplateInstanceStatus{}
}

// PrepareForUpdate keeps the stored status.
func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*templatev1.TemplateInstance).Status = old.(*templatev1.TemplateInstance).Status
}

func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return field.ErrorList{field.InternalError(field.NewPath(""), errors.New("user not found in context"))}
	}
	ti := obj.(*templatev1.TemplateInstance)
	errs := validation.ValidateTemplateInstance(ti)
	return append(errs, s.validateRequester(ctx, ti, u)...)
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return false }

func (strategy) Canonicalize(runtime.Object) {}

// ValidateUpdate allows metadata changes only (the spec is immutable). The requester is
// checked again unless only the garbage collector's fields change, so that the garbage
// collector, which is not the requester, can still remove finalizers and owners.
func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return field.ErrorList{field.InternalError(field.NewPath(""), errors.New("user not found in context"))}
	}
	ti, oldTI, err := withCanonicalObjects(obj.(*templatev1.TemplateInstance), old.(*templatev1.TemplateInstance))
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "template", "objects"), nil, err.Error())}
	}
	errs := validation.ValidateTemplateInstanceUpdate(ti, oldTI)
	if onlyGarbageCollectorFields(ti, oldTI) {
		return errs
	}
	return append(errs, s.validateRequester(ctx, ti, u)...)
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// validateRequester allows a requester other than the user only to those who may "assign"
// this TemplateInstance, with OpenShift's message.
func (s strategy) validateRequester(ctx context.Context, ti *templatev1.TemplateInstance, u user.Info) field.ErrorList {
	path := field.NewPath("spec", "requester", "username")
	if ti.Spec.Requester == nil || ti.Spec.Requester.Username == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if ti.Spec.Requester.Username == u.GetName() {
		return nil
	}
	decision, _, err := s.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: "assign", Namespace: ti.Namespace, Name: ti.Name,
		APIGroup: templatev1.GroupName, APIVersion: templatev1.GroupVersion.Version, Resource: "templateinstances",
		ResourceRequest: true,
	})
	if err != nil || decision != authorizer.DecisionAllow {
		return field.ErrorList{field.Forbidden(path, "you do not have permission to set username")}
	}
	return nil
}

// requesterOf is the requester a TemplateInstance gets from the user creating it.
func requesterOf(u user.Info) *templatev1.TemplateInstanceRequester {
	r := &templatev1.TemplateInstanceRequester{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	if extra := u.GetExtra(); len(extra) > 0 {
		r.Extra = make(map[string]templatev1.ExtraValue, len(extra))
		for k, v := range extra {
			r.Extra[k] = templatev1.ExtraValue(v)
		}
	}
	return r
}

// withCanonicalObjects returns copies of both TemplateInstances whose template objects are
// re-encoded the same way: the garbage collector and other dynamic clients write back the
// same objects with their keys in another order, which is no change of the spec.
func withCanonicalObjects(ti, old *templatev1.TemplateInstance) (*templatev1.TemplateInstance, *templatev1.TemplateInstance, error) {
	ti, old = ti.DeepCopy(), old.DeepCopy()
	for _, t := range []*templatev1.TemplateInstance{ti, old} {
		for i := range t.Spec.Template.Objects {
			canonical, err := canonicalJSON(t.Spec.Template.Objects[i])
			if err != nil {
				return nil, nil, fmt.Errorf("objects[%d]: %w", i, err)
			}
			t.Spec.Template.Objects[i] = runtime.RawExtension{Raw: canonical}
		}
	}
	return ti, old, nil
}

func canonicalJSON(o runtime.RawExtension) ([]byte, error) {
	raw := o.Raw
	if raw == nil && o.Object != nil {
		var err error
		if raw, err = json.Marshal(o.Object); err != nil {
			return nil, err
		}
	}
	var v interface{}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v) // maps marshal with sorted keys
}

// onlyGarbageCollectorFields tells whether an update changes nothing but the owner
// references and finalizers (and what the API server itself keeps).
func onlyGarbageCollectorFields(ti, old *templatev1.TemplateInstance) bool {
	c := ti.DeepCopy()
	c.OwnerReferences, c.Finalizers = old.OwnerReferences, old.Finalizers
	c.ManagedFields, c.SelfLink = old.ManagedFields, old.SelfLink
	return apiequality.Semantic.DeepEqual(c, old)
}

// statusStrategy is what the API server does to a TemplateInstance written through its
// status subresource: only the status changes.
type statusStrategy struct {
	strategy
}

// PrepareForUpdate keeps everything but the status as stored.
func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*templatev1.TemplateInstance).Spec = old.(*templatev1.TemplateInstance).Spec
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateTemplateInstanceUpdate(obj.(*templatev1.TemplateInstance), old.(*templatev1.TemplateInstance))
}
