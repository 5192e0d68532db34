// Package extensions serves the extensions.example.com group in kubia-apiserver: its
// versions registered in the scheme, and its resources' storage. Every group Kubia serves
// has a package shaped like this one (Install, Storage) with a registry subpackage per
// resource.
package extensions

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	extapi "github.com/kubia-dev/kubia/api/extensions"
	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	extv1alpha1 "github.com/kubia-dev/kubia/api/extensions/v1alpha1"
	"github.com/kubia-dev/kubia/internal/apiserver/extensions/website"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// GroupName is the group this package serves.
const GroupName = extapi.GroupName

// StorageVersion is the version objects are stored in etcd as.
var StorageVersion = extv1.GroupVersion

// Install registers the internal version and every served version, v1 preferred.
func Install(scheme *runtime.Scheme) {
	utilruntime.Must(extapi.AddToScheme(scheme))
	utilruntime.Must(extv1.AddToScheme(scheme))
	utilruntime.Must(extv1alpha1.AddToScheme(scheme))
	utilruntime.Must(scheme.SetVersionPriority(extv1.GroupVersion, extv1alpha1.GroupVersion))
}

// Storage returns the storage of each served version's resources. The versions share
// one store: an object written through one is read through the other. Websites need no
// authorization beyond the request's own.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	websites, status, err := website.NewStorage(c.Scheme, c.RESTOptions)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	resources := map[string]rest.Storage{"websites": websites, "websites/status": status}
	return map[string]map[string]rest.Storage{
		extv1.GroupVersion.Version:       resources,
		extv1alpha1.GroupVersion.Version: resources,
	}, nil
}
