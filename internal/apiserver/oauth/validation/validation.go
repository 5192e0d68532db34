// Package validation checks OAuthAccessTokens as oauth-apiserver does (its
// pkg/oauth/apis/oauth/validation, rewritten): a name long enough not to be guessed, the
// user and client it was issued to, and nothing but the inactivity timeout changing after.
// Kubia also requires the sha256~ prefix: only such names can be found by hashing a token,
// so a token record named otherwise could never authenticate anyone.
package validation

import (
	"strings"

	oauthv1 "github.com/openshift/api/oauth/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubia-dev/kubia/internal/apiserver/user/validation"
	"github.com/kubia-dev/kubia/internal/oauthtoken"
)

// MinTokenLength is the shortest name a token record may have, as on OpenShift.
const MinTokenLength = 32

// minInactivityTimeout is oauth-apiserver's shortest inactivity timeout, in seconds.
const minInactivityTimeout = 300

// TokenName checks a token record's name.
func TokenName(name string, _ bool) []string {
	var out []string
	if len(name) < MinTokenLength {
		out = append(out, "must be at least 32 characters long")
	}
	if !strings.HasPrefix(name, oauthtoken.Prefix) {
		out = append(out, "must start with "+oauthtoken.Prefix+" (the SHA-256 of the token)")
	}
	if strings.Trim(strings.TrimPrefix(name, oauthtoken.Prefix), base64URL) != "" {
		out = append(out, "must be base64url after the prefix")
	}
	return out
}

// base64URL are the characters of unpadded base64url.
const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// AccessToken checks a new token record.
func AccessToken(t *oauthv1.OAuthAccessToken) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&t.ObjectMeta, false, TokenName, field.NewPath("metadata"))
	if t.ClientName == "" {
		errs = append(errs, field.Required(field.NewPath("clientName"), ""))
	}
	errs = append(errs, userName(t.UserName, field.NewPath("userName"))...)
	if t.UserUID == "" {
		errs = append(errs, field.Required(field.NewPath("userUID"), ""))
	}
	if t.ExpiresIn < 0 {
		errs = append(errs, field.Invalid(field.NewPath("expiresIn"), t.ExpiresIn, "must be 0 (never) or a number of seconds"))
	}
	if t.InactivityTimeoutSeconds < 0 || (t.InactivityTimeoutSeconds > 0 && t.InactivityTimeoutSeconds < minInactivityTimeout) {
		errs = append(errs, field.Invalid(field.NewPath("inactivityTimeoutSeconds"), t.InactivityTimeoutSeconds,
			"The minimum valid timeout value is 300 seconds"))
	}
	for i, s := range t.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n") {
			errs = append(errs, field.Invalid(field.NewPath("scopes").Index(i), s, "a scope is one word"))
		}
	}
	return errs
}

// AccessTokenUpdate checks a changed record: only its metadata and inactivity timeout
// may change.
func AccessTokenUpdate(t, old *oauthv1.OAuthAccessToken) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, AccessToken(t)...)
	copied := *old
	copied.ObjectMeta, copied.TypeMeta = t.ObjectMeta, t.TypeMeta
	copied.InactivityTimeoutSeconds = t.InactivityTimeoutSeconds
	if !equalTokens(&copied, t) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "only inactivityTimeoutSeconds may change"))
	}
	return errs
}

func equalTokens(a, b *oauthv1.OAuthAccessToken) bool {
	return a.ClientName == b.ClientName && a.ExpiresIn == b.ExpiresIn && strings.Join(a.Scopes, " ") == strings.Join(b.Scopes, " ") &&
		a.RedirectURI == b.RedirectURI && a.UserName == b.UserName && a.UserUID == b.UserUID &&
		a.AuthorizeToken == b.AuthorizeToken && a.RefreshToken == b.RefreshToken
}

func userName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validation.UserNameField(name, path)
}
