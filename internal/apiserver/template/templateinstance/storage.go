// Package templateinstance is the registry of TemplateInstances in kubia-apiserver: a
// Template to instantiate, for whom (the requester, whose rights the controller uses) and,
// in the status subresource, what the controller made of it.
package templateinstance

import (
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/status"
)

// REST serves templateinstances.
type REST struct {
	*genericregistry.Store
}

// NewStorage returns the storage of templateinstances and their status, kept in etcd
// through optsGetter's storage configuration. authz decides who may name another user as
// the requester.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, authz authorizer.Authorizer) (*REST, *status.REST, error) {
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
	return &REST{store}, status.NewREST(store, statusStrategy{s}), nil
}
