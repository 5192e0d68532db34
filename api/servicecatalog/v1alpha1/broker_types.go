package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterServiceBrokerSpec says where an Open Service Broker is and how to reach it.
type ClusterServiceBrokerSpec struct {
	// URL of the broker's Open Service Broker API.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="url must be an http:// or https:// URL"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\s\\\\x00-\\\\x1f]')",message="url must not contain whitespace or control characters"
	URL string `json:"url"`

	// AuthInfo is how the catalog authenticates to the broker.
	// +optional
	AuthInfo *AuthInfo `json:"authInfo,omitempty"`

	// CABundle is the PEM-encoded CA bundle that verifies the broker's TLS certificate.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// InsecureSkipTLSVerify disables verification of the broker's TLS certificate.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`

	// RelistInterval is how often the broker's catalog is fetched again.
	// +kubebuilder:default="15m"
	// +optional
	RelistInterval *metav1.Duration `json:"relistInterval,omitempty"`

	// RelistRequests: increase it to fetch the catalog now.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RelistRequests int64 `json:"relistRequests,omitempty"`
}

// AuthInfo holds the broker's credentials: basic auth or a bearer token, each in a Secret.
// +kubebuilder:validation:XValidation:rule="!(has(self.basic) && has(self.bearer))",message="authInfo takes basic or bearer, not both"
type AuthInfo struct {
	// Basic is HTTP basic authentication with the keys username and password of a Secret.
	// +optional
	Basic *BasicAuthConfig `json:"basic,omitempty"`
	// Bearer is a bearer token, the key token of a Secret.
	// +optional
	Bearer *BearerTokenAuthConfig `json:"bearer,omitempty"`
}

// BasicAuthConfig names the Secret with username and password.
type BasicAuthConfig struct {
	SecretRef ObjectReference `json:"secretRef"`
}

// BearerTokenAuthConfig names the Secret with token.
type BearerTokenAuthConfig struct {
	SecretRef ObjectReference `json:"secretRef"`
}

// ObjectReference names a namespaced object.
type ObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ClusterServiceBrokerStatus tells whether the broker's catalog was fetched.
type ClusterServiceBrokerStatus struct {
	// Conditions: Ready (the catalog was fetched and its classes and plans are in the
	// cluster) and Failed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastCatalogRetrievalTime is when the catalog was last fetched.
	// +optional
	LastCatalogRetrievalTime *metav1.Time `json:"lastCatalogRetrievalTime,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ClusterServiceBroker registers an Open Service Broker with the catalog.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=csb,categories=servicecatalog
// +kubebuilder:metadata:annotations="api-approved.kubernetes.io=unapproved, Kubia's Service Catalog reuses the group of the retired kubernetes-sigs/service-catalog"
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterServiceBroker struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterServiceBrokerSpec   `json:"spec"`
	Status ClusterServiceBrokerStatus `json:"status,omitempty"`
}

// ClusterServiceBrokerList is a list of ClusterServiceBrokers.
// +kubebuilder:object:root=true
type ClusterServiceBrokerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterServiceBroker `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterServiceBroker{}, &ClusterServiceBrokerList{})
}
