package user

import (
	"context"

	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/user/validation"
)

// strategy is what the API server does to a User, as oauth-apiserver's: its groups are
// never stored (users/~ fills them in from the request), everything else is validated.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

func (strategy) NamespaceScoped() bool { return false }

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*userv1.User).Groups = nil
}

func (strategy) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	obj.(*userv1.User).Groups = nil
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.User(obj.(*userv1.User))
}

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.UserUpdate(obj.(*userv1.User), old.(*userv1.User))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}
func (strategy) Canonicalize(runtime.Object)                   {}
func (strategy) AllowCreateOnUpdate(context.Context) bool      { return false }
func (strategy) AllowUnconditionalUpdate(context.Context) bool { return false }
