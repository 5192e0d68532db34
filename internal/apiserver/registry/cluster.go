package registry

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
)

// ClusterStrategy is the whole strategy of a cluster-scoped kind with no status and no
// generated fields (user.openshift.io's kinds): prepare it, validate it.
type ClusterStrategy[T runtime.Object] struct {
	runtime.ObjectTyper
	names.NameGenerator
	// PrepareCreate and PrepareUpdate, when set, change an object before it is validated
	// and stored.
	PrepareCreate, PrepareUpdate func(obj T)
	// Check and CheckUpdate validate an object on create and on update.
	Check       func(obj T) field.ErrorList
	CheckUpdate func(obj, old T) field.ErrorList
}

func (ClusterStrategy[T]) NamespaceScoped() bool { return false }

func (s ClusterStrategy[T]) PrepareForCreate(_ context.Context, obj runtime.Object) {
	if s.PrepareCreate != nil {
		s.PrepareCreate(obj.(T))
	}
}

func (s ClusterStrategy[T]) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	if s.PrepareUpdate != nil {
		s.PrepareUpdate(obj.(T))
	}
}

func (s ClusterStrategy[T]) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return s.Check(obj.(T))
}

func (s ClusterStrategy[T]) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return s.CheckUpdate(obj.(T), old.(T))
}

func (ClusterStrategy[T]) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (ClusterStrategy[T]) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}
func (ClusterStrategy[T]) Canonicalize(runtime.Object)                   {}
func (ClusterStrategy[T]) AllowCreateOnUpdate(context.Context) bool      { return false }
func (ClusterStrategy[T]) AllowUnconditionalUpdate(context.Context) bool { return false }

// ClusterKind says what a cluster-scoped kind's store holds and how it prints.
type ClusterKind struct {
	New, NewList       func() runtime.Object
	Resource, Singular schema.GroupResource
	Table              rest.TableConvertor
	// Fields, when set, are the fields besides metadata.name that lists and watches may
	// select on (the scheme must convert their labels too).
	Fields func(obj runtime.Object) fields.Set
	// TTL, when set, is how many seconds etcd keeps an object (its lease) after a write;
	// 0 keeps it.
	TTL func(obj runtime.Object, existing uint64, update bool) (uint64, error)
}

// NewClusterStore returns the etcd store of kind k, kept through c's storage
// configuration, writing with strategy s.
func NewClusterStore[T runtime.Object](c Config, k ClusterKind, s ClusterStrategy[T]) (*genericregistry.Store, error) {
	s.ObjectTyper, s.NameGenerator = c.Scheme, names.SimpleNameGenerator
	store := &genericregistry.Store{
		NewFunc: k.New, NewListFunc: k.NewList,
		DefaultQualifiedResource: k.Resource, SingularQualifiedResource: k.Singular,
		CreateStrategy: s, UpdateStrategy: s, DeleteStrategy: s,
		TableConvertor: k.Table, TTLFunc: k.TTL,
	}
	options := &generic.StoreOptions{RESTOptions: c.RESTOptions}
	if k.Fields != nil {
		options.AttrFunc = func(obj runtime.Object) (labels.Set, fields.Set, error) {
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, nil, err
			}
			set := fields.Set{"metadata.name": m.GetName()}
			for name, value := range k.Fields(obj) {
				set[name] = value
			}
			return m.GetLabels(), set, nil
		}
	}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, fmt.Errorf("%s storage: %w", k.Resource, err)
	}
	return store, nil
}
