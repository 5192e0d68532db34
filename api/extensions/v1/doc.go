// Tags for k8s.io/code-generator and kube-openapi (controller-gen's markers are in
// groupversion_info.go). gengo reads them only from a comment block of their own, apart
// from the package clause.

// +k8s:openapi-gen=true
// +k8s:conversion-gen=github.com/kubia-dev/kubia/api/extensions
// +k8s:defaulter-gen=TypeMeta
// +groupName=extensions.example.com
// +k8s:openapi-model-package=com.github.kubia-dev.kubia.api.extensions.v1

package v1
