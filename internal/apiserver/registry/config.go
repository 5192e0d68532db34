// Package registry holds what kubia-apiserver hands every API group it serves when it
// builds the group's storage, so each group's Storage takes the same one argument.
package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// Config is what a group's storage may use.
type Config struct {
	// Scheme knows every served kind.
	Scheme *runtime.Scheme
	// RESTOptions is the etcd storage configuration of each resource.
	RESTOptions generic.RESTOptionsGetter
	// Authorizer is the server's (delegated to kube-apiserver): for rules that depend on
	// what the requesting user may do beyond the request itself.
	Authorizer authorizer.Authorizer
	// Kube reaches kube-apiserver, as kubia-apiserver's own identity.
	Kube kubernetes.Interface
	// Informers are kube-apiserver's, shared and started with the server: a group that
	// reads objects at every request (projects: namespaces and RBAC) takes its listers here.
	Informers informers.SharedInformerFactory
	// Route configures route.openshift.io.
	Route RouteConfig
}

// RouteConfig is how Routes get their hosts and whom the router runs as.
type RouteConfig struct {
	// Domain is the router's wildcard domain: generated hosts are
	// <name>-<namespace>.<Domain>.
	Domain string
	// RouterServiceAccount is the router's user name, which must be able to read the
	// Secrets that Routes name in spec.tls.externalCertificate.
	RouterServiceAccount string
}
