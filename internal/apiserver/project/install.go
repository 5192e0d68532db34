// Package project serves project.openshift.io in kubia-apiserver, as openshift-apiserver
// serves it on OpenShift: Projects, a view of Namespaces listing only those the caller may
// get, with OpenShift's own Go types (github.com/openshift/api/project/v1). It is shaped
// like every group Kubia serves (Install, Storage, a registry subpackage per resource).
//
// Like the other OpenShift groups, v1 is the group's only version, so its Go types are
// registered as the internal version too.
package project

import (
	"fmt"

	projectv1 "github.com/openshift/api/project/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	projectstore "github.com/kubia-dev/kubia/internal/apiserver/project/project"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// GroupName is the group this package serves.
var GroupName = projectv1.GroupName

// StorageVersion is the version objects are stored in etcd as (none are: projects are
// namespaces).
var StorageVersion = projectv1.GroupVersion

// internalVersion is the group's internal version, made of the v1 types.
var internalVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

// Install registers v1 and the same types as the internal version.
func Install(scheme *runtime.Scheme) {
	scheme.AddKnownTypes(projectv1.GroupVersion, &projectv1.Project{}, &projectv1.ProjectList{})
	metav1.AddToGroupVersion(scheme, projectv1.GroupVersion)
	scheme.AddKnownTypes(internalVersion, &projectv1.Project{}, &projectv1.ProjectList{})
	if err := projectstore.AddFieldLabelConversions(scheme); err != nil {
		panic(err) // only a programming error: the function is registered once per kind
	}
}

// Storage returns the storage of v1's resources.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	projects, err := projectstore.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	return map[string]map[string]rest.Storage{projectv1.GroupVersion.Version: {"projects": projects}}, nil
}
