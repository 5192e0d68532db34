// Package login serves login.kubia.dev in kubia-apiserver: Logins, which check a user name
// and password against the htpasswd identity provider and answer with a bearer token (the
// part of OpenShift's OAuth server `oc login -u` uses). It is shaped like every group Kubia
// serves (Install, Storage, a registry subpackage per resource).
package login

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	loginv1 "github.com/kubia-dev/kubia/api/login/v1"
	"github.com/kubia-dev/kubia/internal/apiserver/login/login"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// GroupName is the group this package serves.
var GroupName = loginv1.GroupName

// StorageVersion is the group's version (nothing of it is stored).
var StorageVersion = loginv1.GroupVersion

// Install registers v1 and the same types as the internal version.
func Install(scheme *runtime.Scheme) {
	if err := loginv1.AddToScheme(scheme); err != nil {
		panic(err) // only a programming error
	}
	scheme.AddKnownTypes(schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}, &loginv1.Login{})
}

// Storage returns the storage of v1's resources.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	return map[string]map[string]rest.Storage{loginv1.GroupVersion.Version: {"logins": login.NewREST(c)}}, nil
}
