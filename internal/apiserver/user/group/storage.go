// Package group is the registry of Groups in kubia-apiserver, stored in etcd as
// oauth-apiserver stores them on OpenShift, printed as `oc get groups` prints them.
package group

import (
	"fmt"

	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// NewStorage returns the storage of groups, kept in etcd through c's storage configuration.
func NewStorage(c registry.Config) (*genericregistry.Store, error) {
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &userv1.Group{} },
		NewListFunc:               func() runtime.Object { return &userv1.GroupList{} },
		DefaultQualifiedResource:  userv1.Resource("groups"),
		SingularQualifiedResource: userv1.Resource("group"),
		TableConvertor:            tableConvertor{},
	}
	s := strategy{ObjectTyper: c.Scheme, NameGenerator: names.SimpleNameGenerator}
	store.CreateStrategy, store.UpdateStrategy, store.DeleteStrategy = s, s, s
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: c.RESTOptions}); err != nil {
		return nil, fmt.Errorf("groups storage: %w", err)
	}
	return store, nil
}
