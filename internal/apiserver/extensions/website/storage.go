package website

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubia-dev/kubia/api/extensions"
)

// REST serves websites.
type REST struct {
	*genericregistry.Store
}

// ShortNames gives kubectl the CRD's short name.
func (*REST) ShortNames() []string { return []string{"ws"} }

// StatusREST serves websites/status.
type StatusREST struct {
	store *genericregistry.Store
}

// NewStorage returns the storage of websites and websites/status, kept in etcd through
// optsGetter's storage configuration.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *StatusREST, error) {
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
	statusStore := *store
	status := statusStrategy{s}
	statusStore.UpdateStrategy = status
	statusStore.ResetFieldsStrategy = status
	return &REST{store}, &StatusREST{&statusStore}, nil
}

// New returns an empty Website.
func (r *StatusREST) New() runtime.Object { return &extensions.Website{} }

// Destroy does nothing: the main resource's store owns the storage.
func (r *StatusREST) Destroy() {}

// Get reads a Website, for a client updating its status.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes a Website's status only.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Status updates never create: the Website must exist.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields says which fields a status update leaves alone.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints a Website as the main resource does.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
