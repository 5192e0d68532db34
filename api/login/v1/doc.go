// Tags for k8s.io/code-generator and kube-openapi (controller-gen's markers are in
// types.go). gengo reads them only from a comment block of their own, apart from the
// package clause.

// +k8s:openapi-gen=true
// +groupName=login.kubia.dev
// +k8s:openapi-model-package=com.github.kubia-dev.kubia.api.login.v1

package v1
