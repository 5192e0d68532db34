// Package v1alpha1 holds the extensions.example.com/v1alpha1 API, the version the book's
// APIService registers: the same Website as v1, served by kubia-apiserver only (the CRD
// serves v1 alone) and stored as v1.
// +kubebuilder:object:generate=true
// +kubebuilder:skipversion
// +groupName=extensions.example.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubia-dev/kubia/api/extensions"
	v1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// GroupName is the API group of Websites.
const GroupName = "extensions.example.com"

var (
	// GroupVersion is the group and version of the API.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeBuilder registers the API's types, defaults and conversions with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// localSchemeBuilder is the name the generated defaults and conversions register with.
	localSchemeBuilder = &SchemeBuilder

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	localSchemeBuilder.Register(addDefaultingFuncs, addFieldLabelConversions)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &Website{}, &WebsiteList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_WebsiteSpec applies v1's defaults: the versions differ only in name.
func SetDefaults_WebsiteSpec(spec *WebsiteSpec) { //nolint:revive // the generator's naming
	if spec.SyncInterval == nil {
		spec.SyncInterval = &metav1.Duration{Duration: v1.DefaultSyncInterval}
	}
	if spec.Replicas == nil {
		r := v1.DefaultReplicas
		spec.Replicas = &r
	}
	if spec.ServiceType == "" {
		spec.ServiceType = v1.DefaultServiceType
	}
}

func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(GroupVersion.WithKind("Website"), extensions.ConvertWebsiteFieldLabel)
}
