// Package identity is the registry of Identities in kubia-apiserver — who a user is at an
// identity provider, and which User that maps to — stored in etcd as oauth-apiserver
// stores them on OpenShift, printed as `oc get identities` prints them.
package identity

import (
	"fmt"

	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// NewStorage returns the storage of identities, kept in etcd through c's storage
// configuration.
func NewStorage(c registry.Config) (*genericregistry.Store, error) {
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &userv1.Identity{} },
		NewListFunc:               func() runtime.Object { return &userv1.IdentityList{} },
		DefaultQualifiedResource:  userv1.Resource("identities"),
		SingularQualifiedResource: userv1.Resource("identity"),
		TableConvertor:            tableConvertor{},
	}
	s := strategy{ObjectTyper: c.Scheme, NameGenerator: names.SimpleNameGenerator}
	store.CreateStrategy, store.UpdateStrategy, store.DeleteStrategy = s, s, s
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: c.RESTOptions}); err != nil {
		return nil, fmt.Errorf("identities storage: %w", err)
	}
	return store, nil
}
