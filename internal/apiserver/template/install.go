// Package template serves template.openshift.io in kubia-apiserver, as openshift-apiserver
// serves it on OpenShift: Templates, processedtemplates and TemplateInstances, with
// OpenShift's own Go types (github.com/openshift/api/template/v1). It is shaped like every
// group Kubia serves (Install, Storage, a registry subpackage per resource).
//
// Unlike extensions.example.com, the group has no internal types of its own: v1 is its only
// version, so its Go types are registered as the internal version too, and the scheme's
// conversion between the two is a copy. Writing and converting a copy of OpenShift's types
// would only add a place to get them wrong.
package template

import (
	"fmt"
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/template/processedtemplate"
	templatestore "github.com/kubia-dev/kubia/internal/apiserver/template/template"
	"github.com/kubia-dev/kubia/internal/apiserver/template/templateinstance"
)

// GroupName is the group this package serves.
var GroupName = templatev1.GroupName

// StorageVersion is the version objects are stored in etcd as.
var StorageVersion = templatev1.GroupVersion

// internalVersion is the group's internal version, made of the v1 types.
var internalVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

// kinds are the kinds served; BrokerTemplateInstance (the template service broker's) is
// not: Kubia's broker keeps its own records.
func kinds() []runtime.Object {
	return []runtime.Object{
		&templatev1.Template{}, &templatev1.TemplateList{},
		&templatev1.TemplateInstance{}, &templatev1.TemplateInstanceList{},
	}
}

// Install registers v1, and the same types as the internal version.
func Install(scheme *runtime.Scheme) {
	scheme.AddKnownTypes(templatev1.GroupVersion, kinds()...)
	metav1.AddToGroupVersion(scheme, templatev1.GroupVersion)
	scheme.AddKnownTypes(internalVersion, kinds()...)
}

// Storage returns the storage of v1's resources. TemplateInstances ask authz whether their
// creator may name another user as the requester, as openshift-apiserver does.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	templates, err := templatestore.NewStorage(c.Scheme, c.RESTOptions)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	instances, status, err := templateinstance.NewStorage(c.Scheme, c.RESTOptions, c.Authorizer)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	return map[string]map[string]rest.Storage{
		templatev1.GroupVersion.Version: {
			"templates":                templates,
			"processedtemplates":       processedtemplate.NewREST(),
			"templateinstances":        instances,
			"templateinstances/status": status,
		},
	}, nil
}

// OperationID names processedtemplates' create operation in OpenAPI as openshift-apiserver
// does ("" for other paths): its operation would otherwise be named, like templates' create,
// after the Template kind it takes, and OpenAPI needs unique operation IDs.
func OperationID(path string) string {
	switch {
	case strings.HasPrefix(path, "/apis/template.openshift.io/v1/namespaces/{namespace}/processedtemplates"):
		return "createNamespacedProcessedTemplateV1"
	case strings.HasPrefix(path, "/apis/template.openshift.io/v1/processedtemplates"):
		return "createProcessedTemplateForAllNamespaces"
	}
	return ""
}
