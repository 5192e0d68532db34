// Package tokenreview is kubia-apiserver's token authentication webhook: kube-apiserver,
// started with --authentication-token-webhook-config-file pointing at Path, posts each
// bearer token it does not know itself as a TokenReview, and gets back who the token's
// OAuthAccessToken says it is — with the Groups that list that user, so RBAC bindings to
// a Group apply to its members. oauth-apiserver does this on OpenShift.
package tokenreview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	oauthv1 "github.com/openshift/api/oauth/v1"
	userv1 "github.com/openshift/api/user/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/apiserver/oauth/oauthaccesstoken"
	"github.com/kubia-dev/kubia/internal/oauthtoken"
)

// OAuthGroup is the group every user authenticated by an OAuth token is in, as on
// OpenShift (system:authenticated:oauth).
const OAuthGroup = "system:authenticated:oauth"

// ScopesKey is the user extra holding a token's scopes, as on OpenShift.
const ScopesKey = "scopes.authorization.openshift.io"

// errInvalid is every reason a token does not authenticate, said the same way.
var errInvalid = errors.New("the token is not valid: unknown, revoked or expired")

// Authenticator finds who a token belongs to.
type Authenticator struct {
	// Client reads tokens, Users and Groups from kubia-apiserver.
	Client client.Reader
	Now    func() time.Time
}

var _ authenticator.Token = &Authenticator{}

// AuthenticateToken finds token's record by hashing it (the token itself is never
// compared, or stored), and answers for a record that has not expired and whose User still
// exists with the same UID (deleting a user revokes their tokens).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	name, ok := oauthtoken.Name(token)
	if !ok {
		return nil, false, nil
	}
	record := &oauthv1.OAuthAccessToken{}
	if err := a.Client.Get(ctx, client.ObjectKey{Name: name}, record); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, errInvalid
		}
		return nil, false, fmt.Errorf("reading the token's record: %w", err)
	}
	if record.DeletionTimestamp != nil || oauthaccesstoken.Expired(record, a.Now()) {
		return nil, false, errInvalid
	}
	u := &userv1.User{}
	if err := a.Client.Get(ctx, client.ObjectKey{Name: record.UserName}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, errInvalid
		}
		return nil, false, fmt.Errorf("reading user %s: %w", record.UserName, err)
	}
	if string(u.UID) != record.UserUID {
		return nil, false, errInvalid
	}
	groups, err := a.groupsOf(ctx, u.Name)
	if err != nil {
		return nil, false, err
	}
	return &authenticator.Response{User: &user.DefaultInfo{
		Name: u.Name, UID: string(u.UID), Groups: append(groups, OAuthGroup),
		Extra: map[string][]string{ScopesKey: record.Scopes},
	}}, true, nil
}

// groupsOf are the names of the Groups that list name, sorted.
func (a *Authenticator) groupsOf(ctx context.Context, name string) ([]string, error) {
	list := &userv1.GroupList{}
	if err := a.Client.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	var out []string
	for _, g := range list.Items {
		if slices.Contains(g.Users, name) {
			out = append(out, g.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}
