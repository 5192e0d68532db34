package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ServiceBindingSpec asks for credentials of an instance, written into a Secret.
type ServiceBindingSpec struct {
	// InstanceRef names the ServiceInstance in the binding's namespace.
	InstanceRef LocalObjectReference `json:"instanceRef"`
	// SecretName is the Secret the credentials go to; the binding's name when empty.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="secretName must be a valid Secret name (DNS-1123 subdomain)"
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// Parameters go to the broker as they are (a JSON object).
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// ParametersFrom adds parameters from Secrets, each key holding a JSON object.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ParametersFrom []ParametersFromSource `json:"parametersFrom,omitempty"`
	// SecretTransforms change the credentials before they are written, in order.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	SecretTransforms []SecretTransform `json:"secretTransforms,omitempty"`
	// ExternalID is the binding's id at the broker; the controller sets it to a new UUID
	// when empty, and it never changes after.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="oldSelf == '' || self == oldSelf",message="externalID cannot change once set"
	// +optional
	ExternalID string `json:"externalID,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// SecretTransform is one change of the credentials: exactly one of its fields.
// +kubebuilder:validation:XValidation:rule="(has(self.renameKey) ? 1 : 0) + (has(self.addKey) ? 1 : 0) + (has(self.removeKey) ? 1 : 0) == 1",message="a secret transform is exactly one of renameKey, addKey, removeKey"
type SecretTransform struct {
	// +optional
	RenameKey *RenameKeyTransform `json:"renameKey,omitempty"`
	// +optional
	AddKey *AddKeyTransform `json:"addKey,omitempty"`
	// +optional
	RemoveKey *RemoveKeyTransform `json:"removeKey,omitempty"`
}

// RenameKeyTransform renames a credential.
type RenameKeyTransform struct {
	// +kubebuilder:validation:MinLength=1
	From string `json:"from"`
	// +kubebuilder:validation:MinLength=1
	To string `json:"to"`
}

// AddKeyTransform adds a credential: a value, a string, or a JSONPath expression over
// the credentials (as {.host}:{.port}).
// +kubebuilder:validation:XValidation:rule="(has(self.value) ? 1 : 0) + (has(self.stringValue) ? 1 : 0) + (has(self.jsonPathExpression) ? 1 : 0) == 1",message="addKey takes exactly one of value, stringValue, jsonPathExpression"
type AddKeyTransform struct {
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// +optional
	Value []byte `json:"value,omitempty"`
	// +optional
	StringValue *string `json:"stringValue,omitempty"`
	// +optional
	JSONPathExpression *string `json:"jsonPathExpression,omitempty"`
}

// RemoveKeyTransform removes a credential.
type RemoveKeyTransform struct {
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// Values of the binding's unbindStatus.
const (
	UnbindStatusNotRequired = "NotRequired"
	UnbindStatusRequired    = "Required"
	UnbindStatusSucceeded   = "Succeeded"
	UnbindStatusFailed      = "Failed"
)

// ServiceBindingStatus is what the broker did with the binding.
type ServiceBindingStatus struct {
	// Conditions: Ready (the Secret holds the credentials) and Failed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	AsyncOpInProgress bool `json:"asyncOpInProgress,omitempty"`
	// CurrentOperation is Bind or Unbind while one is in progress.
	// +optional
	CurrentOperation string `json:"currentOperation,omitempty"`
	// +optional
	LastOperation string `json:"lastOperation,omitempty"`
	// UnbindStatus: NotRequired, Required, Succeeded or Failed.
	// +optional
	UnbindStatus string `json:"unbindStatus,omitempty"`
	// +optional
	OrphanMitigationInProgress bool `json:"orphanMitigationInProgress,omitempty"`
	// ExternalProperties are what the broker was last given.
	// +optional
	ExternalProperties *ServiceBindingPropertiesState `json:"externalProperties,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ServiceBindingPropertiesState is what the broker was given, Secrets' values redacted.
type ServiceBindingPropertiesState struct {
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// +optional
	ParameterChecksum string `json:"parameterChecksum,omitempty"`
}

// ServiceBinding makes an instance's credentials available in a Secret.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sb,categories=servicecatalog
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, Kubia's Service Catalog reuses the group of the retired kubernetes-sigs/service-catalog"
// +kubebuilder:printcolumn:name="Service-Instance",type=string,JSONPath=`.spec.instanceRef.name`
// +kubebuilder:printcolumn:name="Secret-Name",type=string,JSONPath=`.spec.secretName`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceBindingSpec   `json:"spec"`
	Status ServiceBindingStatus `json:"status,omitempty"`
}

// ServiceBindingList is a list of ServiceBindings.
// +kubebuilder:object:root=true
type ServiceBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ServiceBinding{}, &ServiceBindingList{})
}
