// Package v1 holds the login.kubia.dev/v1 API: Login, which trades a user name and password
// checked by kubia-apiserver's identity provider for a bearer token (what OpenShift's OAuth
// server does at /oauth/authorize for `oc login -u`). A Login is never stored: creating one
// answers with the token in its status.
// +kubebuilder:object:generate=true
// +groupName=login.kubia.dev
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of Logins.
const GroupName = "login.kubia.dev"

// GroupVersion is the group and version of the API.
var GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

// AddToScheme adds the API's types to a scheme.
func AddToScheme(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &Login{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}

// Login asks for a bearer token for a user of the identity provider. Create it (anonymous
// clients may); the answer carries the token in status and never the password.
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type Login struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is unused: a Login is not stored.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// spec holds the credentials.
	Spec LoginSpec `json:"spec" protobuf:"bytes,2,opt,name=spec"`
	// status holds the token issued.
	// +optional
	Status LoginStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// LoginSpec are the credentials to check.
type LoginSpec struct {
	// username is the user's name at the identity provider.
	Username string `json:"username" protobuf:"bytes,1,opt,name=username"`
	// password is checked against the identity provider and then forgotten: it is never
	// stored, logged or returned.
	Password string `json:"password" protobuf:"bytes,2,opt,name=password"`
}

// LoginStatus is the token issued.
type LoginStatus struct {
	// token is the bearer token: send it as `Authorization: Bearer <token>` to
	// kube-apiserver. Only its hash is kept (an oauth.openshift.io OAuthAccessToken).
	Token string `json:"token,omitempty" protobuf:"bytes,1,opt,name=token"`
	// tokenName is the name of the token's OAuthAccessToken, which revoking it deletes.
	TokenName string `json:"tokenName,omitempty" protobuf:"bytes,2,opt,name=tokenName"`
	// expirationTimestamp is when the token stops authenticating.
	ExpirationTimestamp metav1.Time `json:"expirationTimestamp,omitempty" protobuf:"bytes,3,opt,name=expirationTimestamp"`
	// user is the name of the User the identity maps to, whom the token authenticates.
	User string `json:"user,omitempty" protobuf:"bytes,4,opt,name=user"`
}
