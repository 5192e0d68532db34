// Package template is the registry of Templates in kubia-apiserver: stored in etcd as
// openshift-apiserver stores them, validated as it validates them, printed as `oc get
// templates` prints them.
package template

import (
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/storage/names"
)

// REST serves templates.
type REST struct {
	*genericregistry.Store
}

// NewStorage returns the storage of templates, kept in etcd through optsGetter's storage
// configuration.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, error) {
	s := strategy{scheme, names.SimpleNameGenerator}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &templatev1.Template{} },
		NewListFunc:               func() runtime.Object { return &templatev1.TemplateList{} },
		DefaultQualifiedResource:  templatev1.Resource("templates"),
		SingularQualifiedResource: templatev1.Resource("template"),

		CreateStrategy: s,
		UpdateStrategy: s,
		DeleteStrategy: s,

		TableConvertor: tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter}); err != nil {
		return nil, fmt.Errorf("templates storage: %w", err)
	}
	return &REST{store}, nil
}
