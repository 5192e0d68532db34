// Package group is the registry of Groups in kubia-apiserver, stored in etcd as
// oauth-apiserver stores them on OpenShift (validated only), printed as `oc get groups`
// prints them.
package group

import (
	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/user/validation"
)

// NewStorage returns the storage of groups, kept in etcd through c's storage configuration.
func NewStorage(c registry.Config) (*genericregistry.Store, error) {
	return registry.NewClusterStore(c, registry.ClusterKind{
		New:      func() runtime.Object { return &userv1.Group{} },
		NewList:  func() runtime.Object { return &userv1.GroupList{} },
		Resource: userv1.Resource("groups"), Singular: userv1.Resource("group"),
		Table: tableConvertor{},
	}, registry.ClusterStrategy[*userv1.Group]{Check: validation.Group, CheckUpdate: validation.GroupUpdate})
}
