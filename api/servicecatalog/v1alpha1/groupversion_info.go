// Package v1alpha1 holds the servicecatalog.k8s.io/v1alpha1 API, the Service Catalog's
// kinds as the book uses them: ClusterServiceBroker, ClusterServiceClass,
// ClusterServicePlan, ServiceInstance and ServiceBinding.
// +kubebuilder:object:generate=true
// +groupName=servicecatalog.k8s.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the API.
	GroupVersion = schema.GroupVersion{Group: "servicecatalog.k8s.io", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Condition types and reasons shared by the kinds.
const (
	ConditionReady  = "Ready"
	ConditionFailed = "Failed"
)
