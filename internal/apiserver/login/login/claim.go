package login

import (
	"context"
	"fmt"
	"slices"

	userv1 "github.com/openshift/api/user/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// claimer maps an identity of the provider to its User as OpenShift's "claim" mapping
// method does: the first login of providerUser creates User providerUser (or claims one an
// admin made with no identity) and Identity <provider>:<providerUser>; later logins find
// the Identity. A User already mapped to another identity is refused.
//
// Each step is safe to repeat, so a crash between them is mended by the next login: the
// User is written first, naming the Identity, then the Identity, pointing at the User's UID.
type claimer struct {
	client   client.Client
	provider string
}

// userFor returns the User that providerUser maps to, creating what the first login needs.
func (c claimer) userFor(ctx context.Context, providerUser string) (*userv1.User, error) {
	name := c.provider + ":" + providerUser
	identity := &userv1.Identity{}
	err := c.client.Get(ctx, client.ObjectKey{Name: name}, identity)
	switch {
	case err == nil:
		return c.mappedUser(ctx, identity)
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading identity %s: %w", name, err)
	}
	user, err := c.claimUser(ctx, providerUser, name)
	if err != nil {
		return nil, err
	}
	identity = &userv1.Identity{
		ObjectMeta:       metav1.ObjectMeta{Name: name},
		ProviderName:     c.provider,
		ProviderUserName: providerUser,
		User:             corev1.ObjectReference{Name: user.Name, UID: user.UID},
	}
	if err := c.client.Create(ctx, identity); err != nil {
		if apierrors.IsAlreadyExists(err) { // a concurrent first login made it
			return c.userFor(ctx, providerUser)
		}
		return nil, fmt.Errorf("creating identity %s: %w", name, err)
	}
	return user, nil
}

// mappedUser is the User an existing Identity names, which must still be the same User
// (same UID) and list the Identity.
func (c claimer) mappedUser(ctx context.Context, identity *userv1.Identity) (*userv1.User, error) {
	user := &userv1.User{}
	if err := c.client.Get(ctx, client.ObjectKey{Name: identity.User.Name}, user); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("identity %s maps to user %q, which does not exist (delete the identity to have the next login create the user)", identity.Name, identity.User.Name)
		}
		return nil, fmt.Errorf("reading user %s: %w", identity.User.Name, err)
	}
	if user.UID != identity.User.UID {
		return nil, fmt.Errorf("identity %s maps to user %q with UID %s, but that user's UID is %s (it was deleted and made again: delete the identity)",
			identity.Name, user.Name, identity.User.UID, user.UID)
	}
	return c.listIdentity(ctx, user, identity.Name)
}

// claimUser returns User name, created for the identity or claimed by it.
func (c claimer) claimUser(ctx context.Context, name, identity string) (*userv1.User, error) {
	user := &userv1.User{ObjectMeta: metav1.ObjectMeta{Name: name}, Identities: []string{identity}}
	err := c.client.Create(ctx, user)
	if err == nil {
		return user, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	if err := c.client.Get(ctx, client.ObjectKey{Name: name}, user); err != nil {
		return nil, fmt.Errorf("reading user %s: %w", name, err)
	}
	if others := withoutIdentity(user.Identities, identity); len(others) > 0 {
		// OpenShift's message (its claim mapping's).
		return nil, fmt.Errorf("user %q cannot be claimed by identity %q because it is already mapped to %v", name, identity, others)
	}
	return c.listIdentity(ctx, user, identity)
}

// listIdentity makes sure user lists identity.
func (c claimer) listIdentity(ctx context.Context, user *userv1.User, identity string) (*userv1.User, error) {
	if slices.Contains(user.Identities, identity) {
		return user, nil
	}
	user.Identities = append(user.Identities, identity)
	if err := c.client.Update(ctx, user); err != nil {
		return nil, fmt.Errorf("adding identity %s to user %s: %w", identity, user.Name, err)
	}
	return user, nil
}

func withoutIdentity(identities []string, identity string) []string {
	return slices.DeleteFunc(slices.Clone(identities), func(s string) bool { return s == identity })
}
