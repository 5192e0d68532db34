// Package useroauthaccesstoken serves useroauthaccesstokens: each user's view of their own
// access tokens, as oauth-apiserver serves it, so anyone may list and revoke their tokens
// (other sessions, a leaked laptop's) without seeing anyone else's. It reads and deletes
// through the oauthaccesstokens store, selecting on userName = the caller.
package useroauthaccesstoken

import (
	"context"
	"errors"
	"fmt"

	oauthv1 "github.com/openshift/api/oauth/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/apiserver/oauth/oauthaccesstoken"
	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// REST serves the caller's tokens.
type REST struct {
	tokens *genericregistry.Store
}

var (
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.GracefulDeleter      = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST serves the tokens of tokens' store, each to its owner.
func NewREST(tokens *genericregistry.Store) *REST { return &REST{tokens: tokens} }

func (*REST) New() runtime.Object     { return &oauthv1.UserOAuthAccessToken{} }
func (*REST) NewList() runtime.Object { return &oauthv1.UserOAuthAccessTokenList{} }
func (*REST) Destroy()                {}
func (*REST) NamespaceScoped() bool   { return false }
func (*REST) GetSingularName() string { return "useroauthaccesstoken" }

var resource = oauthv1.Resource("useroauthaccesstokens")

// caller is the requesting user's name; a request without one has no tokens to see.
func caller(ctx context.Context) (string, error) {
	u, ok := request.UserFrom(ctx)
	if !ok || u.GetName() == "" {
		return "", apierrors.NewForbidden(resource, "", errors.New("requests for your tokens must be authenticated"))
	}
	return u.GetName(), nil
}

// Get returns one of the caller's tokens; anyone else's is NotFound, as if absent.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	t, err := r.owned(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return toUser(t), nil
}

func (r *REST) owned(ctx context.Context, name string, options *metav1.GetOptions) (*oauthv1.OAuthAccessToken, error) {
	user, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := r.tokens.Get(ctx, name, options)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(resource, name)
	}
	if err != nil {
		return nil, err
	}
	t := obj.(*oauthv1.OAuthAccessToken)
	if t.UserName != user {
		return nil, apierrors.NewNotFound(resource, name)
	}
	return t, nil
}

// ownOnly adds userName=<caller> to a list's or watch's field selector.
func ownOnly(ctx context.Context, options *metainternalversion.ListOptions) (*metainternalversion.ListOptions, error) {
	user, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	out := &metainternalversion.ListOptions{}
	if options != nil {
		out = options.DeepCopy()
	}
	own := fields.OneTermEqualSelector("userName", user)
	if out.FieldSelector == nil || out.FieldSelector.Empty() {
		out.FieldSelector = own
	} else {
		out.FieldSelector = fields.AndSelectors(out.FieldSelector, own)
	}
	return out, nil
}

// List lists the caller's tokens.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	own, err := ownOnly(ctx, options)
	if err != nil {
		return nil, err
	}
	obj, err := r.tokens.List(ctx, own)
	if err != nil {
		return nil, err
	}
	list := obj.(*oauthv1.OAuthAccessTokenList)
	out := &oauthv1.UserOAuthAccessTokenList{ListMeta: list.ListMeta, Items: make([]oauthv1.UserOAuthAccessToken, 0, len(list.Items))}
	for i := range list.Items {
		out.Items = append(out.Items, *toUser(&list.Items[i]))
	}
	return out, nil
}

// Watch watches the caller's tokens.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	own, err := ownOnly(ctx, options)
	if err != nil {
		return nil, err
	}
	w, err := r.tokens.Watch(ctx, own)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		if t, ok := e.Object.(*oauthv1.OAuthAccessToken); ok {
			e.Object = toUser(t)
		}
		return e, true
	}), nil
}

// Delete revokes one of the caller's tokens.
func (r *REST) Delete(ctx context.Context, name string, validate rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	t, err := r.owned(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	options = options.DeepCopy()
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	options.Preconditions.UID = &t.UID // the token just checked, not a namesake since
	validateUser := func(ctx context.Context, obj runtime.Object) error {
		if validate == nil {
			return nil
		}
		return validate(ctx, toUser(obj.(*oauthv1.OAuthAccessToken)))
	}
	obj, done, err := r.tokens.Delete(ctx, name, validateUser, options)
	if err != nil {
		return nil, false, err
	}
	if deleted, ok := obj.(*oauthv1.OAuthAccessToken); ok {
		return toUser(deleted), done, nil
	}
	return obj, done, nil
}

func (*REST) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, oauthaccesstoken.Columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		t, ok := obj.(*oauthv1.UserOAuthAccessToken)
		if !ok {
			return nil, fmt.Errorf("not a UserOAuthAccessToken: %T", obj)
		}
		return oauthaccesstoken.Row((*oauthv1.OAuthAccessToken)(t), name), nil
	})
}

func toUser(t *oauthv1.OAuthAccessToken) *oauthv1.UserOAuthAccessToken {
	u := oauthv1.UserOAuthAccessToken(*t.DeepCopy())
	u.TypeMeta = metav1.TypeMeta{}
	return &u
}
