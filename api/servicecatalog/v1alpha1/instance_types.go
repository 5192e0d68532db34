package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ServiceInstanceSpec asks for an instance of a class's plan, by their catalog names.
type ServiceInstanceSpec struct {
	// ClusterServiceClassName is the class's name (its name in the broker's catalog, as
	// postgres-database).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClusterServiceClassName string `json:"clusterServiceClassName"`
	// ClusterServicePlanName is the plan's name in the class (as free).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClusterServicePlanName string `json:"clusterServicePlanName"`
	// Parameters go to the broker as they are (a JSON object).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// ParametersFrom adds parameters from Secrets, each key holding a JSON object.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ParametersFrom []ParametersFromSource `json:"parametersFrom,omitempty"`
	// ExternalID is the instance's id at the broker; the controller sets it to a new
	// UUID when empty, and it never changes after.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="oldSelf == '' || self == oldSelf",message="externalID cannot change once set"
	// +optional
	ExternalID string `json:"externalID,omitempty"`
}

// ParametersFromSource is a Secret key holding a JSON object of parameters.
type ParametersFromSource struct {
	SecretKeyRef *SecretKeyReference `json:"secretKeyRef"`
}

// SecretKeyReference names a key of a Secret in the object's namespace.
type SecretKeyReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// Values of the instance's provisionStatus and deprovisionStatus.
const (
	ProvisionStatusProvisioned    = "Provisioned"
	ProvisionStatusNotProvisioned = "NotProvisioned"

	DeprovisionStatusNotRequired = "NotRequired"
	DeprovisionStatusRequired    = "Required"
	DeprovisionStatusSucceeded   = "Succeeded"
	DeprovisionStatusFailed      = "Failed"
)

// ServiceInstanceStatus is what the broker did with the instance.
type ServiceInstanceStatus struct {
	// Conditions: Ready (reason ProvisionedSuccessfully once provisioned) and Failed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// AsyncOpInProgress: an asynchronous operation is being polled.
	// +optional
	AsyncOpInProgress bool `json:"asyncOpInProgress,omitempty"`
	// CurrentOperation is the operation in progress: Provision, Update or Deprovision.
	// +optional
	CurrentOperation string `json:"currentOperation,omitempty"`
	// LastOperation is the broker's operation id of the asynchronous operation.
	// +optional
	LastOperation string `json:"lastOperation,omitempty"`
	// ProvisionStatus: Provisioned or NotProvisioned.
	// +optional
	ProvisionStatus string `json:"provisionStatus,omitempty"`
	// DeprovisionStatus: NotRequired, Required, Succeeded or Failed.
	// +optional
	DeprovisionStatus string `json:"deprovisionStatus,omitempty"`
	// OrphanMitigationInProgress: the catalog is deleting what a failed provisioning may
	// have left at the broker.
	// +optional
	OrphanMitigationInProgress bool `json:"orphanMitigationInProgress,omitempty"`
	// ExternalProperties are what the broker has applied: the plan and parameters of the
	// last provisioning or update that succeeded.
	// +optional
	ExternalProperties *ServiceInstancePropertiesState `json:"externalProperties,omitempty"`
	// InProgressProperties are what an operation in progress asked for.
	// +optional
	InProgressProperties *ServiceInstancePropertiesState `json:"inProgressProperties,omitempty"`
	// DashboardURL is the broker's dashboard of the instance.
	// +optional
	DashboardURL string `json:"dashboardURL,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ServiceInstancePropertiesState is what the broker was given: the plan and the
// parameters, with the values from Secrets redacted.
type ServiceInstancePropertiesState struct {
	ClusterServicePlanExternalName string `json:"clusterServicePlanExternalName,omitempty"`
	ClusterServicePlanExternalID   string `json:"clusterServicePlanExternalID,omitempty"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// ParameterChecksum is the SHA-256 of the parameters sent, Secrets' values included.
	// +optional
	ParameterChecksum string `json:"parameterChecksum,omitempty"`
}

// ServiceInstance is a provisioned service: a database, a queue, ...
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=si,categories=servicecatalog
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, Kubia's Service Catalog reuses the group of the retired kubernetes-sigs/service-catalog"
// +kubebuilder:printcolumn:name="Class",type=string,JSONPath=`.spec.clusterServiceClassName`
// +kubebuilder:printcolumn:name="Plan",type=string,JSONPath=`.spec.clusterServicePlanName`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Operation",type=string,JSONPath=`.status.currentOperation`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceInstance struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceInstanceSpec   `json:"spec"`
	Status ServiceInstanceStatus `json:"status,omitempty"`
}

// ServiceInstanceList is a list of ServiceInstances.
// +kubebuilder:object:root=true
type ServiceInstanceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceInstance `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServiceInstance{}, &ServiceInstanceList{})
}
