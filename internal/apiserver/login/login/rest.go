// Package login is the registry of Logins: create one with a user name and password, get
// a bearer token back. The password is checked against the htpasswd file in a Secret
// (read at each login, so `kubia user add` takes effect at once), bcrypt only; failures
// are throttled per user name and logged without the password; the first login of a user
// creates their User and Identity; the token's hash is stored as an OAuthAccessToken that
// expires, and the token itself only ever appears in the response.
package login

import (
	"context"
	"fmt"
	"math"
	"time"

	oauthv1 "github.com/openshift/api/oauth/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/klog/v2"

	loginv1 "github.com/kubia-dev/kubia/api/login/v1"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/htpasswd"
	"github.com/kubia-dev/kubia/internal/oauthtoken"
)

// ClientName is the OAuth client name of the tokens logins issue.
const ClientName = "kubia-login"

// Throttling of failed logins: five in a row, then one every ten seconds.
const (
	failureBurst    = 5
	failureInterval = 10 * time.Second
	maxTrackedNames = 10000
)

// REST creates Logins.
type REST struct {
	cfg      registry.Config
	failures *failedLogins
	now      func() time.Time
}

var (
	_ rest.Creater              = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.Storage              = &REST{}
)

// NewREST returns the storage of logins.
func NewREST(c registry.Config) *REST {
	return &REST{cfg: c, failures: newFailedLogins(failureInterval, failureBurst, maxTrackedNames), now: time.Now}
}

func (*REST) New() runtime.Object     { return &loginv1.Login{} }
func (*REST) Destroy()                {}
func (*REST) NamespaceScoped() bool   { return false }
func (*REST) GetSingularName() string { return "login" }

var groupKind = loginv1.GroupVersion.WithKind("Login").GroupKind()

// errUnauthorized is the answer to any wrong credentials, the same whether the user exists.
var errUnauthorized = apierrors.NewUnauthorized("Login failed: the user name or password is wrong")

// Create checks the credentials and issues a token.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	login, ok := obj.(*loginv1.Login)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Login: %T", obj))
	}
	user, password := login.Spec.Username, login.Spec.Password
	if errs := validate(login); len(errs) > 0 {
		return nil, apierrors.NewInvalid(groupKind, user, errs)
	}
	if createValidation != nil {
		redacted := login.DeepCopy()
		redacted.Spec.Password = ""
		if err := createValidation(ctx, redacted); err != nil {
			return nil, err
		}
	}
	if wait := r.failures.wait(user); wait > 0 {
		seconds := int(math.Ceil(wait.Seconds()))
		return nil, apierrors.NewTooManyRequests(fmt.Sprintf("too many failed logins for %q: try again in %d s", user, seconds), seconds)
	}
	file, err := r.passwords(ctx)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Login impossible: no htpasswd file", "user", user)
		return nil, apierrors.NewServiceUnavailable("the identity provider is not configured: " + err.Error())
	}
	if !file.Authenticate(user, password) {
		r.failures.failed(user)
		klog.FromContext(ctx).Info("Login failed", "user", user, "provider", r.cfg.Login.ProviderName)
		return nil, errUnauthorized
	}
	r.failures.succeeded(user)
	return r.issue(ctx, user)
}

func validate(l *loginv1.Login) field.ErrorList {
	var errs field.ErrorList
	if l.Spec.Username == "" {
		errs = append(errs, field.Required(field.NewPath("spec", "username"), ""))
	} else if err := htpasswd.ValidUser(l.Spec.Username); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "username"), l.Spec.Username, err.Error()))
	}
	if l.Spec.Password == "" {
		errs = append(errs, field.Required(field.NewPath("spec", "password"), ""))
	}
	return errs
}

// passwords reads the htpasswd file from its Secret.
func (r *REST) passwords(ctx context.Context) (*htpasswd.File, error) {
	ref := r.cfg.Login.HTPasswdSecret
	secret, err := r.cfg.Kube.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", ref, err)
	}
	data, ok := secret.Data[htpasswd.SecretKey]
	if !ok {
		return nil, fmt.Errorf("Secret %s has no key %q", ref, htpasswd.SecretKey)
	}
	file, ignored := htpasswd.Parse(data)
	if len(ignored) > 0 {
		klog.FromContext(ctx).Info("Users without a bcrypt hash cannot log in", "secret", ref.String(), "users", ignored)
	}
	return file, nil
}

// issue maps user to their User and stores a new token for them.
func (r *REST) issue(ctx context.Context, providerUser string) (*loginv1.Login, error) {
	c := claimer{client: r.cfg.Self, provider: r.cfg.Login.ProviderName}
	user, err := c.userFor(ctx, providerUser)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Login refused: no user for the identity", "user", providerUser)
		return nil, apierrors.NewForbidden(loginv1.GroupVersion.WithResource("logins").GroupResource(), providerUser, err)
	}
	token, name, err := oauthtoken.New()
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	maxAge := r.cfg.Login.TokenMaxAge
	record := &oauthv1.OAuthAccessToken{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		ClientName: ClientName, Scopes: []string{"user:full"},
		ExpiresIn: int64(maxAge / time.Second),
		UserName:  user.Name, UserUID: string(user.UID),
	}
	if err := r.cfg.Self.Create(ctx, record); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("storing the token of %s: %w", user.Name, err))
	}
	klog.FromContext(ctx).Info("Logged in", "user", user.Name, "tokenName", name, "expiresIn", maxAge)
	expires := record.CreationTimestamp.Add(maxAge)
	return &loginv1.Login{
		Spec: loginv1.LoginSpec{Username: providerUser},
		Status: loginv1.LoginStatus{
			Token: token, TokenName: name, User: user.Name,
			ExpirationTimestamp: metav1.NewTime(expires),
		},
	}, nil
}
