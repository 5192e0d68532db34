// Package oauth serves oauth.openshift.io in kubia-apiserver, as oauth-apiserver serves it
// on OpenShift: the access tokens that logging in hands out (oauthaccesstokens, for admins,
// and useroauthaccesstokens, each user's own), stored hashed, with OpenShift's own Go types
// (github.com/openshift/api/oauth/v1). OAuth clients and authorize tokens are not served:
// Kubia's login (login.kubia.dev) issues access tokens directly. It is shaped like every
// group Kubia serves (Install, Storage, a registry subpackage per resource).
package oauth

import (
	"fmt"

	oauthv1 "github.com/openshift/api/oauth/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/oauth/oauthaccesstoken"
	"github.com/kubia-dev/kubia/internal/apiserver/oauth/useroauthaccesstoken"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// GroupName is the group this package serves.
var GroupName = oauthv1.GroupName

// StorageVersion is the version objects are stored in etcd as.
var StorageVersion = oauthv1.GroupVersion

var internalVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

func kinds() []runtime.Object {
	return []runtime.Object{&oauthv1.OAuthAccessToken{}, &oauthv1.OAuthAccessTokenList{},
		&oauthv1.UserOAuthAccessToken{}, &oauthv1.UserOAuthAccessTokenList{}}
}

// Install registers v1 and the same types as the internal version, and the fields tokens
// are selected by.
func Install(scheme *runtime.Scheme) {
	scheme.AddKnownTypes(oauthv1.GroupVersion, kinds()...)
	metav1.AddToGroupVersion(scheme, oauthv1.GroupVersion)
	scheme.AddKnownTypes(internalVersion, kinds()...)
	for _, kind := range []string{"OAuthAccessToken", "UserOAuthAccessToken"} {
		if err := scheme.AddFieldLabelConversionFunc(oauthv1.GroupVersion.WithKind(kind), oauthaccesstoken.FieldLabel); err != nil {
			panic(err) // only a programming error: registered once per kind
		}
	}
}

// Storage returns the storage of v1's resources.
func Storage(c registry.Config) (map[string]map[string]rest.Storage, error) {
	tokens, err := oauthaccesstoken.NewStorage(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GroupName, err)
	}
	return map[string]map[string]rest.Storage{oauthv1.GroupVersion.Version: {
		"oauthaccesstokens":     tokens,
		"useroauthaccesstokens": useroauthaccesstoken.NewREST(tokens),
	}}, nil
}
