// Package extensions is the internal (hub) version of the extensions.example.com API,
// which kubia-apiserver's registry and validation work on: every served version
// (v1, v1alpha1) converts to and from it. Clients use the versioned packages.
// +kubebuilder:object:generate=true

// +k8s:deepcopy-gen=package

package extensions
