// Package route serves route.openshift.io in kubia-apiserver, as openshift-apiserver serves
// it on OpenShift: Routes and their status, with OpenShift's own Go types
// (github.com/openshift/api/route/v1) and library-go's defaulting, validation and host
// assignment. It is shaped like every group Kubia serves (Install, Storage, a registry
// subpackage per resource).
//
// Like template.openshift.io, v1 is the group's only version, so its Go types are
// registered as the internal version too.
package route

import (
	"fmt"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/openshift/library-go/pkg/route/defaulting"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	routestore "github.com/kubia-dev/kubia/internal/apiserver/route/route"
)

// GroupName is the group this package serves.
var GroupName = routev1.GroupName

// StorageVersion is the version objects are stored in etcd as.
var StorageVersion = routev1.GroupVersion

// internalVersion is the group's internal version, made of the v1 types.
var internalVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

// Install registers v1, the same types as the internal version, and OpenShift's defaults
// of v1 Routes (what openshift-apiserver's generated defaulters apply).
func Install(scheme *runtime.Scheme) {
	scheme.AddKnownTypes(routev1.GroupVersion, &routev1.Route{}, &routev1.RouteList{})
	metav1.AddToGroupVersion(scheme, routev1.GroupVersion)
	scheme.AddKnownTypes(internalVersion, &routev1.Route{}, &routev1.RouteList{})
	scheme.AddTypeDefaultingFunc(&routev1.Route{}, func(obj interface{}) { setDefaults(obj.(*routev1.Route)) })
	scheme.AddTypeDefaultingFunc(&routev1.RouteList{}, func(obj interface{}) {
		for i := range obj.(*routev1.RouteList).Items {
			setDefaults(&obj.(*routev1.RouteList).Items[i])
		}
	})
	if err := routestore.AddFieldLabelConversions(scheme); err != nil {
		panic(err) // only a programming error: the functions are registered once per kind
	}
}

// setDefaults applies library-go's defaults to every part of a Route that has them.
func setDefaults(r *routev1.Route) {
	defaulting.SetDefaults_RouteSpec(&r.Spec)
	defaulting.SetDefaults_RouteTargetReference(&r.Spec.To)
	for i := range r.Spec.AlternateBackends {
		defaulting.SetDefaults_RouteTargetReference(&r.Spec.AlternateBackends[i])
	}
	if r.Spec.TLS != nil {
		defaulting.SetDefaults_TLSConfig(r.Spec.TLS)
	}
	for i := range r.Status.Ingress {
		defaulting.SetDefaults_RouteIngress(&r.Status.Ingress[i])
	}
}

// Storage returns the storage of v1's resources: routes ask authz whether their creator may
// choose a host or certificates, and read Secrets named as external certificates.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	routes, status, err := routestore.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	return map[string]map[string]rest.Storage{
		routev1.GroupVersion.Version: {"routes": routes, "routes/status": status},
	}, nil
}
