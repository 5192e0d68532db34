package server

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/extensions"
	"github.com/kubia-dev/kubia/internal/apiserver/login"
	"github.com/kubia-dev/kubia/internal/apiserver/oauth"
	"github.com/kubia-dev/kubia/internal/apiserver/project"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/route"
	"github.com/kubia-dev/kubia/internal/apiserver/template"
	"github.com/kubia-dev/kubia/internal/apiserver/user"
)

// group is one API group kubia-apiserver serves; each has a package under
// internal/apiserver with these things. Storage gets what the server has for them
// (registry.Config); operationID, when set, names the OpenAPI operations of some paths
// ("" leaves a path's default name).
type group struct {
	name           string
	install        func(*runtime.Scheme)
	storage        func(registry.Config) (map[string]map[string]rest.Storage, error)
	storageVersion schema.GroupVersion
	operationID    func(path string) string
}

// groups are the API groups kubia-apiserver serves.
var groups = []group{
	{extensions.GroupName, extensions.Install, extensions.Storage, extensions.StorageVersion, nil},
	{template.GroupName, template.Install, template.Storage, template.StorageVersion, template.OperationID},
	{route.GroupName, route.Install, route.Storage, route.StorageVersion, nil},
	{user.GroupName, user.Install, user.Storage, user.StorageVersion, nil},
	{project.GroupName, project.Install, project.Storage, project.StorageVersion, nil},
	{oauth.GroupName, oauth.Install, oauth.Storage, oauth.StorageVersion, nil},
	{login.GroupName, login.Install, login.Storage, login.StorageVersion, nil},
}

var (
	// Scheme knows every served group's versions and the meta types.
	Scheme = runtime.NewScheme()
	// Codecs encode and decode the served kinds: JSON, YAML and protobuf, which needs the
	// served versions' generated marshalling (generated.pb.go, `make generate`).
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	for _, g := range groups {
		g.install(Scheme)
	}
	// The options of requests (GET's, LIST's, DELETE's) come unversioned.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// storageVersions are the versions each group's objects are stored as in etcd.
func storageVersions() schema.GroupVersions {
	out := make(schema.GroupVersions, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.storageVersion)
	}
	return out
}
