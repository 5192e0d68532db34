// Package user serves user.openshift.io in kubia-apiserver, as oauth-apiserver serves it
// on OpenShift: Users (and users/~, the caller), Groups and Identities, cluster-scoped,
// with OpenShift's own Go types (github.com/openshift/api/user/v1) and its validation
// rules (validation/). It is shaped like every group Kubia serves (Install, Storage, a
// registry subpackage per resource).
//
// Like the other OpenShift groups, v1 is the group's only version, so its Go types are
// registered as the internal version too.
package user

import (
	"fmt"

	userv1 "github.com/openshift/api/user/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/user/group"
	"github.com/kubia-dev/kubia/internal/apiserver/user/identity"
	userstore "github.com/kubia-dev/kubia/internal/apiserver/user/user"
)

// GroupName is the group this package serves.
var GroupName = userv1.GroupName

// StorageVersion is the version objects are stored in etcd as.
var StorageVersion = userv1.GroupVersion

// internalVersion is the group's internal version, made of the v1 types.
var internalVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

// kinds are the served kinds and their lists.
func kinds() []runtime.Object {
	return []runtime.Object{&userv1.User{}, &userv1.UserList{}, &userv1.Group{}, &userv1.GroupList{},
		&userv1.Identity{}, &userv1.IdentityList{}}
}

// Install registers v1 and the same types as the internal version.
func Install(scheme *runtime.Scheme) {
	scheme.AddKnownTypes(userv1.GroupVersion, kinds()...)
	metav1.AddToGroupVersion(scheme, userv1.GroupVersion)
	scheme.AddKnownTypes(internalVersion, kinds()...)
}

// Storage returns the storage of v1's resources.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	users, err := userstore.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	groups, err := group.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	identities, err := identity.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	return map[string]map[string]rest.Storage{
		userv1.GroupVersion.Version: {"users": users, "groups": groups, "identities": identities},
	}, nil
}
