// Tags for k8s.io/code-generator and kube-openapi (controller-gen's markers are in
// register.go), in a comment block of their own as gengo requires.

// +k8s:openapi-gen=true
// +k8s:conversion-gen=github.com/kubia-dev/kubia/api/extensions
// +k8s:defaulter-gen=TypeMeta
// +groupName=extensions.example.com

package v1alpha1
