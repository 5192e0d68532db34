// Package templateinstance is the registry of TemplateInstances in kubia-apiserver: a
// Template to instantiate, for whom (the requester, whose rights the controller uses) and,
// in the status subresource, what the controller made of it.
package templateinstance

import (
	"context"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
)

// REST serves templateinstances.
type REST struct {
	*genericregistry.Store
}

// StatusREST serves templateinstances/status.
type StatusREST struct {
	store *genericregistry.Store
}

// NewStorage returns the storage of templateinstances and their status, kept in etcd
// through optsGetter's storage configuration. authz decides who may name another user as
// the requester.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, authz authorizer.Authorizer) (*REST, *StatusREST, error) {
	s := strategy{ObjectTyper: scheme, NameGenerator: names.SimpleNameGenerator, authz: authz}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &templatev1.TemplateInstance{} },
		NewListFunc:               func() runtime.Object { return &templatev1.TemplateInstanceList{} },
		DefaultQualifiedResource:  templatev1.Resource("templateinstances"),
		SingularQualifiedResource: templatev1.Resource("templateinstance"),

		CreateStrategy: s,
		UpdateStrategy: s,
		DeleteStrategy: s,

		TableConvertor: tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter}); err != nil {
		return nil, nil, fmt.Errorf("templateinstances storage: %w", err)
	}
	statusStore := *store
	statusStore.UpdateStrategy = statusStrategy{s}
	return &REST{store}, &StatusREST{&statusStore}, nil
}

// New returns an empty TemplateInstance.
func (r *StatusREST) New() runtime.Object { return &templatev1.TemplateInstance{} }

// Destroy does nothing: the main resource's store owns the storage.
func (r *StatusREST) Destroy() {}

// Get reads a TemplateInstance, for a client updating its status.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes a TemplateInstance's status only; it never creates one.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// ConvertToTable prints a TemplateInstance as the main resource does.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
