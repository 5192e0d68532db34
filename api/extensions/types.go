package extensions

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Website is the internal form of a Website; see api/extensions/v1 for the fields' meaning.
// +kubebuilder:object:root=true
type Website struct {
	metav1.TypeMeta
	metav1.ObjectMeta

	Spec   WebsiteSpec
	Status WebsiteStatus
}

// WebsiteSpec is what the user asks for.
type WebsiteSpec struct {
	GitRepo      string
	Ref          string
	SyncInterval *metav1.Duration
	Replicas     *int32
	SecretRef    *SecretReference
	Ingress      *WebsiteIngress
	ServiceType  string
}

// SecretReference names a Secret in the same namespace.
type SecretReference struct {
	Name string
}

// WebsiteIngress publishes a Website through an Ingress.
type WebsiteIngress struct {
	Host          string
	TLSSecretName string
}

// WebsiteStatus is what the controller observed.
type WebsiteStatus struct {
	ObservedGeneration int64
	URL                string
	NodePort           int32
	Commit             string
	Conditions         []metav1.Condition
}

// WebsiteList is a list of Websites.
// +kubebuilder:object:root=true
type WebsiteList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []Website
}
