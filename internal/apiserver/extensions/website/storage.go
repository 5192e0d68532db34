package website

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/kubia-dev/kubia/api/extensions"
	"github.com/kubia-dev/kubia/internal/apiserver/status"
)

// REST serves websites.
type REST struct {
	*genericregistry.Store
}

// ShortNames gives kubectl the CRD's short name.
func (*REST) ShortNames() []string { return []string{"ws"} }

// NewStorage returns the storage of websites and websites/status, kept in etcd through
// optsGetter's storage configuration.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := newStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &extensions.Website{} },
		NewListFunc:               func() runtime.Object { return &extensions.WebsiteList{} },
		PredicateFunc:             matcher,
		DefaultQualifiedResource:  extensions.Resource("websites"),
		SingularQualifiedResource: extensions.Resource("website"),

		CreateStrategy:      s,
		UpdateStrategy:      s,
		DeleteStrategy:      s,
		ResetFieldsStrategy: s,

		TableConvertor: tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: getAttrs}); err != nil {
		return nil, nil, fmt.Errorf("websites storage: %w", err)
	}
	return &REST{store}, status.NewREST(store, statusStrategy{s}), nil
}
