// Tags for k8s.io/code-generator and kube-openapi (controller-gen's markers are in
// register.go), in a comment block of their own as gengo requires.

// +k8s:openapi-gen=true
// +k8s:conversion-gen=github.com/kubia-dev/kubia/api/extensions
// +k8s:defaulter-gen=TypeMeta
// +groupName=extensions.example.com
// +k8s:openapi-model-package=com.github.kubia-dev.kubia.api.extensions.v1alpha1

package v1alpha1
