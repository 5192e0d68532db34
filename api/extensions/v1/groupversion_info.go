// Package v1 holds the extensions.example.com/v1 API: the Website kind. It is the CRD's
// only version and kubia-apiserver's storage version.
// +kubebuilder:object:generate=true
// +groupName=extensions.example.com
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of Websites.
const GroupName = "extensions.example.com"

var (
	// GroupVersion is the group and version of the API.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

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
