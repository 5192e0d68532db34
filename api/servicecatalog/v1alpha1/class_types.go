package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterServiceClassSpec is a service offering of a broker's catalog. The catalog's
// controller writes it; users read it.
type ClusterServiceClassSpec struct {
	// ClusterServiceBrokerName is the broker that offers the class.
	ClusterServiceBrokerName string `json:"clusterServiceBrokerName"`
	// ExternalName is the offering's name in the broker's catalog (also the object's name).
	ExternalName string `json:"externalName"`
	// ExternalID is the offering's id in the broker's catalog.
	ExternalID string `json:"externalID"`
	// Description of the offering.
	// +optional
	Description string `json:"description,omitempty"`
	// Bindable: whether instances of the class can be bound (plans may override it).
	Bindable bool `json:"bindable"`
	// PlanUpdatable: whether instances may change plans.
	// +optional
	PlanUpdatable bool `json:"planUpdatable,omitempty"`
	// InstancesRetrievable and BindingRetrievable: what the broker lets the catalog fetch.
	// +optional
	InstancesRetrievable bool `json:"instancesRetrievable,omitempty"`
	// +optional
	BindingRetrievable bool `json:"bindingRetrievable,omitempty"`
	// Tags and Requires as the broker lists them.
	// +optional
	Tags []string `json:"tags,omitempty"`
	// +optional
	Requires []string `json:"requires,omitempty"`
	// ExternalMetadata is the broker's free-form metadata of the offering.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ExternalMetadata *runtime.RawExtension `json:"externalMetadata,omitempty"`
}

// ClusterServiceClassStatus tells whether the broker still offers the class.
type ClusterServiceClassStatus struct {
	// RemovedFromBrokerCatalog: the broker's catalog no longer lists the class; it is
	// kept while instances use it.
	// +optional
	RemovedFromBrokerCatalog bool `json:"removedFromBrokerCatalog,omitempty"`
}

// ClusterServiceClass is a service a broker offers, named by its catalog name.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=csc,categories=servicecatalog
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, Kubia's Service Catalog reuses the group of the retired kubernetes-sigs/service-catalog"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.clusterServiceBrokerName`
// +kubebuilder:printcolumn:name="Bindable",type=boolean,JSONPath=`.spec.bindable`
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServiceClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterServiceClassSpec   `json:"spec"`
	Status ClusterServiceClassStatus `json:"status,omitempty"`
}

// ClusterServiceClassList is a list of ClusterServiceClasses.
// +kubebuilder:object:root=true
type ClusterServiceClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterServiceClass `json:"items"`
}

// ClusterServicePlanSpec is one plan of a class.
type ClusterServicePlanSpec struct {
	ClusterServiceBrokerName string `json:"clusterServiceBrokerName"`
	// ClusterServiceClassRef names the plan's class.
	ClusterServiceClassRef ClusterObjectReference `json:"clusterServiceClassRef"`
	// ExternalName is the plan's name in the broker's catalog (free, premium, ...).
	ExternalName string `json:"externalName"`
	// ExternalID is the plan's id in the broker's catalog.
	ExternalID string `json:"externalID"`
	// +optional
	Description string `json:"description,omitempty"`
	// Free: whether the plan costs nothing.
	// +optional
	Free bool `json:"free,omitempty"`
	// Bindable overrides the class's bindable when set.
	// +optional
	Bindable *bool `json:"bindable,omitempty"`
	// InstanceCreateParameterSchema, InstanceUpdateParameterSchema and
	// ServiceBindingCreateParameterSchema are the broker's JSON schemas of parameters.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	InstanceCreateParameterSchema *runtime.RawExtension `json:"instanceCreateParameterSchema,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	InstanceUpdateParameterSchema *runtime.RawExtension `json:"instanceUpdateParameterSchema,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ServiceBindingCreateParameterSchema *runtime.RawExtension `json:"serviceBindingCreateParameterSchema,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	ExternalMetadata *runtime.RawExtension `json:"externalMetadata,omitempty"`
}

// ClusterObjectReference names a cluster-scoped object.
type ClusterObjectReference struct {
	Name string `json:"name"`
}

// ClusterServicePlanStatus tells whether the broker still offers the plan.
type ClusterServicePlanStatus struct {
	// RemovedFromBrokerCatalog: the broker's catalog no longer lists the plan; it is kept
	// while instances use it.
	// +optional
	RemovedFromBrokerCatalog bool `json:"removedFromBrokerCatalog,omitempty"`
}

// ClusterServicePlan is a plan of a ClusterServiceClass, named <class>-<plan>.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=csp,categories=servicecatalog
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, Kubia's Service Catalog reuses the group of the retired kubernetes-sigs/service-catalog"
// +kubebuilder:printcolumn:name="External-Name",type=string,JSONPath=`.spec.externalName`
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.clusterServiceClassRef.name`
// +kubebuilder:printcolumn:name="Broker",type=string,JSONPath=`.spec.clusterServiceBrokerName`
// +kubebuilder:printcolumn:name="Free",type=boolean,JSONPath=`.spec.free`
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Removed",type=boolean,JSONPath=`.status.removedFromBrokerCatalog`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServicePlan struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterServicePlanSpec   `json:"spec"`
	Status ClusterServicePlanStatus `json:"status,omitempty"`
}

// ClusterServicePlanList is a list of ClusterServicePlans.
// +kubebuilder:object:root=true
type ClusterServicePlanList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterServicePlan `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterServiceClass{}, &ClusterServiceClassList{}, &ClusterServicePlan{}, &ClusterServicePlanList{})
}
