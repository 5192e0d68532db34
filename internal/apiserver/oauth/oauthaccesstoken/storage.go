// Package oauthaccesstoken is the registry of OAuthAccessTokens in kubia-apiserver: the
// records of the bearer tokens handed out at login, named by the token's hash (the token
// itself is never stored), kept in etcd with a lease that ends when the token expires, as
// oauth-apiserver keeps them. Admins list and revoke any; deleting one by name needs only
// the name, which only the token's holder can compute (`kubia logout`, `oc logout`).
package oauthaccesstoken

import (
	"fmt"
	"time"

	oauthv1 "github.com/openshift/api/oauth/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/kubia-dev/kubia/internal/apiserver/oauth/validation"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// NewStorage returns the storage of access tokens, kept in etcd through c's storage
// configuration.
func NewStorage(c registry.Config) (*genericregistry.Store, error) {
	return registry.NewClusterStore(c, registry.ClusterKind{
		New:      func() runtime.Object { return &oauthv1.OAuthAccessToken{} },
		NewList:  func() runtime.Object { return &oauthv1.OAuthAccessTokenList{} },
		Resource: oauthv1.Resource("oauthaccesstokens"), Singular: oauthv1.Resource("oauthaccesstoken"),
		Table:  tableConvertor{},
		Fields: func(obj runtime.Object) fields.Set { return SelectableFields(obj.(*oauthv1.OAuthAccessToken)) },
		TTL:    ttl,
	}, registry.ClusterStrategy[*oauthv1.OAuthAccessToken]{
		Check:       validation.AccessToken,
		CheckUpdate: validation.AccessTokenUpdate,
	})
}

// SelectableFields are the fields tokens may be selected by, as on OpenShift.
func SelectableFields(t *oauthv1.OAuthAccessToken) fields.Set {
	return fields.Set{"clientName": t.ClientName, "userName": t.UserName, "userUID": t.UserUID, "authorizeToken": t.AuthorizeToken}
}

// FieldLabel converts the field labels clients select tokens by.
func FieldLabel(label, value string) (string, string, error) {
	switch label {
	case "metadata.name", "clientName", "userName", "userUID", "authorizeToken":
		return label, value, nil
	}
	return "", "", fmt.Errorf("field label not supported: %s", label)
}

// ttl makes etcd drop a token when it expires; an update keeps the lease it has.
func ttl(obj runtime.Object, existing uint64, update bool) (uint64, error) {
	if update {
		return existing, nil
	}
	t := obj.(*oauthv1.OAuthAccessToken)
	return uint64(max(t.ExpiresIn, 0)), nil
}

// Expired tells whether t no longer authenticates at now (etcd's lease may not have ended
// it yet: leases are checked about once a second and may outlive a restart).
func Expired(t *oauthv1.OAuthAccessToken, now time.Time) bool {
	return t.ExpiresIn > 0 && !now.Before(t.CreationTimestamp.Add(time.Duration(t.ExpiresIn)*time.Second))
}
