package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebsiteSpec is what the user asks for: a static site served from a Git repository.
type WebsiteSpec struct {
	// GitRepo is the URL of the Git repository holding the site's files: https://, http://,
	// ssh:// or scp-style (user@host:path). Local paths and file:// are not accepted.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^(https?://|ssh://)[^\\\\s]+$') || self.matches('^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:[^\\\\s]+$')",message="must be an https://, http://, ssh:// or scp-style (user@host:path) Git URL"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[\\\\x00-\\\\x1f\\\\x7f\\\\s]')",message="must not contain whitespace or control characters"
	GitRepo string `json:"gitRepo" protobuf:"bytes,1,opt,name=gitRepo"`

	// Ref is the branch, tag or full commit SHA to serve; empty means the remote's HEAD.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._/-]*$`
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('-') && !self.contains('..')",message="must not start with '-' or contain '..'"
	Ref string `json:"ref,omitempty" protobuf:"bytes,2,opt,name=ref"`

	// SyncInterval is how often the repository is polled for new commits.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Format=duration
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s') && duration(self) <= duration('24h')",message="must be between 5s and 24h"
	SyncInterval *metav1.Duration `json:"syncInterval,omitempty" protobuf:"bytes,3,opt,name=syncInterval"`

	// Replicas is the number of web server pods.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty" protobuf:"varint,4,opt,name=replicas"`

	// SecretRef names a Secret in the Website's namespace with credentials for a private
	// repository: "username" and "password" (or "token") for HTTP(S), or "identity" (an
	// SSH private key) and "known_hosts" for SSH.
	// +optional
	SecretRef *SecretReference `json:"secretRef,omitempty" protobuf:"bytes,5,opt,name=secretRef"`

	// Ingress, when set, also publishes the site through an Ingress for Host.
	// +optional
	Ingress *WebsiteIngress `json:"ingress,omitempty" protobuf:"bytes,6,opt,name=ingress"`

	// ServiceType is the type of the site's Service.
	// +optional
	// +kubebuilder:default=NodePort
	// +kubebuilder:validation:Enum=NodePort;ClusterIP;LoadBalancer
	ServiceType string `json:"serviceType,omitempty" protobuf:"bytes,7,opt,name=serviceType"`
}

// SecretReference names a Secret in the same namespace.
type SecretReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`
}

// WebsiteIngress publishes a Website through an Ingress.
type WebsiteIngress struct {
	// Host is the DNS name the site is served at.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Host string `json:"host" protobuf:"bytes,1,opt,name=host"`

	// TLSSecretName names a Secret with the certificate for Host; empty serves plain HTTP.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TLSSecretName string `json:"tlsSecretName,omitempty" protobuf:"bytes,2,opt,name=tlsSecretName"`
}

// WebsiteStatus is what the controller observed.
type WebsiteStatus struct {
	// ObservedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty" protobuf:"varint,1,opt,name=observedGeneration"`

	// URL is where the site is served: http://<node-address>:<nodePort>, or the Ingress's
	// http(s)://<host>; empty while no web server is available.
	// +optional
	URL string `json:"url,omitempty" protobuf:"bytes,2,opt,name=url"`

	// NodePort is the Service's node port, when it has one.
	// +optional
	NodePort int32 `json:"nodePort,omitempty" protobuf:"varint,3,opt,name=nodePort"`

	// Commit is the last revision of the repository that was synced.
	// +optional
	Commit string `json:"commit,omitempty" protobuf:"bytes,4,opt,name=commit"`

	// Conditions are Ready, Progressing and Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" protobuf:"bytes,5,rep,name=conditions"`
}

// Website publishes a static site from a Git repository: a web server Deployment kept in
// sync with the repository, and a Service. Its name must leave valid names for those
// children (CEL cannot report metadata.name as the field path, so the message names it).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ws
// +kubebuilder:selectablefield:JSONPath=`.spec.gitRepo`
// +kubebuilder:selectablefield:JSONPath=`.spec.secretRef.name`
// +kubebuilder:selectablefield:JSONPath=`.spec.serviceType`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 55 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1035 label of at most 55 characters: it names the <name>-website Deployment and Service"
type Website struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// +required
	Spec WebsiteSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// +optional
	Status WebsiteStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// WebsiteList is a list of Websites.
// +kubebuilder:object:root=true
type WebsiteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	Items           []Website `json:"items" protobuf:"bytes,2,rep,name=items"`
}
