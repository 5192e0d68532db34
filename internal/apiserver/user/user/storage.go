// Package user is the registry of Users in kubia-apiserver, stored in etcd as
// oauth-apiserver stores them on OpenShift, printed as `oc get users` prints them; users/~
// answers who the caller is (`oc whoami`).
package user

import (
	"context"
	"errors"
	"sort"

	userv1 "github.com/openshift/api/user/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/user/validation"
)

// REST serves users.
type REST struct {
	*genericregistry.Store
}

// NewStorage returns the storage of users, kept in etcd through c's storage configuration.
// A User's groups are never stored (users/~ fills them in from the request), as on
// OpenShift.
func NewStorage(c registry.Config) (*REST, error) {
	dropGroups := func(u *userv1.User) { u.Groups = nil }
	store, err := registry.NewClusterStore(c, registry.ClusterKind{
		New:      func() runtime.Object { return &userv1.User{} },
		NewList:  func() runtime.Object { return &userv1.UserList{} },
		Resource: userv1.Resource("users"), Singular: userv1.Resource("user"),
		Table: tableConvertor{},
	}, registry.ClusterStrategy[*userv1.User]{PrepareCreate: dropGroups, PrepareUpdate: dropGroups,
		Check: validation.User, CheckUpdate: validation.UserUpdate})
	if err != nil {
		return nil, err
	}
	return &REST{store}, nil
}

// Get reads a user; "~" is the caller, as on OpenShift: their stored User if there is
// one, else a User made of what authentication says, with the caller's groups either way.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	if name == validation.CurrentUser {
		return r.caller(ctx, options)
	}
	// A name no User can have is Invalid, not NotFound, as on OpenShift.
	if errs := validation.UserNameField(name, field.NewPath("metadata", "name")); len(errs) != 0 {
		return nil, apierrors.NewInvalid(userv1.GroupVersion.WithKind("User").GroupKind(), name, errs)
	}
	return r.Store.Get(ctx, name, options)
}

func (r *REST) caller(ctx context.Context, options *metav1.GetOptions) (runtime.Object, error) {
	info, ok := request.UserFrom(ctx)
	if !ok || info.GetName() == "" {
		return nil, apierrors.NewForbidden(userv1.Resource("user"), validation.CurrentUser, errors.New("requests to ~ must be authenticated"))
	}
	groups := append([]string(nil), info.GetGroups()...)
	sort.Strings(groups)
	groups = dedupe(groups)
	virtual := &userv1.User{ObjectMeta: metav1.ObjectMeta{Name: info.GetName(), UID: types.UID(info.GetUID())}, Groups: groups}
	if len(validation.UserName(info.GetName(), false)) != 0 {
		return virtual, nil // a service account, say: no User can have its name
	}
	obj, err := r.Store.Get(ctx, info.GetName(), options)
	switch {
	case apierrors.IsNotFound(err):
		return virtual, nil // authenticated without a User (a certificate, impersonation)
	case err != nil:
		return nil, apierrors.NewInternalError(err)
	}
	stored := obj.(*userv1.User).DeepCopy()
	stored.Groups = groups
	if virtual.UID != "" {
		stored.UID = virtual.UID // what authorization decides by
	}
	return stored, nil
}

// dedupe drops repeated entries of a sorted slice.
func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}
