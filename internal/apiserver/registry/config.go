// Package registry holds what kubia-apiserver hands every API group it serves when it
// builds the group's storage, so each group's Storage takes the same one argument.
package registry

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	// Self reaches kubia-apiserver itself over loopback, as the server (a privileged
	// user): for groups that act on other groups' objects through their API, validation
	// and all (a login creates Users, Identities and tokens).
	Self client.Client
	// Route configures route.openshift.io.
	Route RouteConfig
	// Login configures login.kubia.dev.
	Login LoginConfig
}

// LoginConfig is the identity provider logins check and the tokens they get.
type LoginConfig struct {
	// HTPasswdSecret is the Secret holding the htpasswd file (key "htpasswd").
	HTPasswdSecret types.NamespacedName
	// ProviderName names the identity provider in Identities (<provider>:<user>).
	ProviderName string
	// TokenMaxAge is how long a token authenticates.
	TokenMaxAge time.Duration
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
