// Package identity is the registry of Identities in kubia-apiserver — who a user is at an
// identity provider, and which User that maps to — stored in etcd as oauth-apiserver
// stores them on OpenShift, printed as `oc get identities` prints them.
package identity

import (
	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/user/validation"
)

// NewStorage returns the storage of identities, kept in etcd through c's storage
// configuration. An identity is always named <providerName>:<providerUserName>, whatever
// the request said, as on OpenShift.
func NewStorage(c registry.Config) (*genericregistry.Store, error) {
	return registry.NewClusterStore(c, registry.ClusterKind{
		New:      func() runtime.Object { return &userv1.Identity{} },
		NewList:  func() runtime.Object { return &userv1.IdentityList{} },
		Resource: userv1.Resource("identities"), Singular: userv1.Resource("identity"),
		Table: tableConvertor{},
	}, registry.ClusterStrategy[*userv1.Identity]{
		PrepareCreate: func(id *userv1.Identity) { id.Name = id.ProviderName + ":" + id.ProviderUserName },
		Check:         validation.Identity,
		CheckUpdate:   validation.IdentityUpdate,
	})
}
