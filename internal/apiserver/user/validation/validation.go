// Package validation holds user.openshift.io's validation rules and messages, as
// OpenShift's oauth-apiserver and apiserver-library-go have them (rewritten here: neither
// is a module Kubia can depend on, and the rules are a page of code). A user or group name
// is a path segment that is not "~" (the caller, in users/~); a user name with ":" must
// start with "b64:"; an identity's name is <providerName>:<providerUserName>.
package validation

import (
	"fmt"
	"strings"

	userv1 "github.com/openshift/api/user/v1"
	kvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CurrentUser is the name users/~ answers for: the caller.
const CurrentUser = "~"

// UserName reports what is wrong with a user name, OpenShift's rules.
func UserName(name string, _ bool) []string {
	if reasons := path.ValidatePathSegmentName(name, false); len(reasons) != 0 {
		return reasons
	}
	if strings.Contains(name, ":") && !strings.HasPrefix(name, "b64:") {
		return []string{`usernames that contain ":" must begin with "b64:"`}
	}
	if name == CurrentUser {
		return []string{`may not equal "~"`}
	}
	return nil
}

// GroupName reports what is wrong with a group name.
func GroupName(name string, _ bool) []string {
	if reasons := path.ValidatePathSegmentName(name, false); len(reasons) != 0 {
		return reasons
	}
	if strings.Contains(name, ":") {
		return []string{`may not contain ":"`}
	}
	if name == CurrentUser {
		return []string{`may not equal "~"`}
	}
	return nil
}

// IdentityName reports what is wrong with an identity name:
// <providerName>:<providerUserName>, or <providerName>:b64:<base64 user name>.
func IdentityName(name string, _ bool) []string {
	if reasons := path.ValidatePathSegmentName(name, false); len(reasons) != 0 {
		return reasons
	}
	parts := strings.Split(name, ":")
	user := 1
	if len(parts) == 3 && parts[1] == "b64" {
		user = 2
	} else if len(parts) != 2 {
		return []string{`must be in the format <providerName>:<providerUserName>`}
	}
	if parts[0] == "" {
		return []string{`must be in the format <providerName>:<providerUserName> with a non-empty providerName`}
	}
	if parts[user] == "" {
		return []string{`must be in the format <providerName>:<providerUserName> with a non-empty providerUserName`}
	}
	return nil
}

// IdentityProviderName reports what is wrong with an identity provider's name.
func IdentityProviderName(name string) []string {
	if reasons := path.ValidatePathSegmentName(name, false); len(reasons) != 0 {
		return reasons
	}
	if strings.Contains(name, ":") {
		return []string{`may not contain ":"`}
	}
	return nil
}

// UserNameField is the error list of a user name given in a request path (a get of a
// name no User can have is Invalid, not NotFound, as on OpenShift).
func UserNameField(name string, fldPath *field.Path) field.ErrorList {
	if reasons := UserName(name, false); len(reasons) != 0 {
		return field.ErrorList{field.Invalid(fldPath, name, strings.Join(reasons, ", "))}
	}
	return nil
}

// User validates a User. Its groups are the server's to fill in (users/~ only).
func User(u *userv1.User) field.ErrorList {
	errs := kvalidation.ValidateObjectMeta(&u.ObjectMeta, false, UserName, field.NewPath("metadata"))
	for i, identity := range u.Identities {
		if reasons := IdentityName(identity, false); len(reasons) != 0 {
			errs = append(errs, field.Invalid(field.NewPath("identities").Index(i), identity, strings.Join(reasons, ", ")))
		}
	}
	if len(u.Groups) != 0 {
		errs = append(errs, field.Invalid(field.NewPath("groups"), u.Groups, "is deprecated and cannot be set"))
	}
	return errs
}

// UserUpdate validates an update of a User.
func UserUpdate(u, old *userv1.User) field.ErrorList {
	errs := kvalidation.ValidateObjectMetaUpdate(&u.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, User(u)...)
}

// Group validates a Group. (OpenShift names its users' path "user", not "users": kept.)
func Group(g *userv1.Group) field.ErrorList {
	errs := kvalidation.ValidateObjectMeta(&g.ObjectMeta, false, GroupName, field.NewPath("metadata"))
	for i, user := range g.Users {
		p := field.NewPath("user").Index(i)
		if user == "" {
			errs = append(errs, field.Invalid(p, user, "may not be empty"))
			continue
		}
		if reasons := UserName(user, false); len(reasons) != 0 {
			errs = append(errs, field.Invalid(p, user, strings.Join(reasons, ", ")))
		}
	}
	return errs
}

// GroupUpdate validates an update of a Group.
func GroupUpdate(g, old *userv1.Group) field.ErrorList {
	errs := kvalidation.ValidateObjectMetaUpdate(&g.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, Group(g)...)
}

// Identity validates an Identity: its name is its provider's and provider user's, and the
// user it maps to is named with its UID, or not at all.
func Identity(id *userv1.Identity) field.ErrorList {
	errs := kvalidation.ValidateObjectMeta(&id.ObjectMeta, false, IdentityName, field.NewPath("metadata"))
	if id.ProviderName == "" {
		errs = append(errs, field.Required(field.NewPath("providerName"), ""))
	} else if reasons := IdentityProviderName(id.ProviderName); len(reasons) != 0 {
		errs = append(errs, field.Invalid(field.NewPath("providerName"), id.ProviderName, strings.Join(reasons, ", ")))
	}
	if id.ProviderUserName == "" {
		errs = append(errs, field.Required(field.NewPath("providerUserName"), ""))
	} else if reasons := UserName(id.ProviderUserName, false); len(reasons) != 0 {
		errs = append(errs, field.Invalid(field.NewPath("providerUserName"), id.ProviderUserName, strings.Join(reasons, ", ")))
	}
	if id.ProviderName != "" && id.ProviderUserName != "" {
		if want := id.ProviderName + ":" + id.ProviderUserName; id.Name != want {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), id.Name, fmt.Sprintf("must be %s", want)))
		}
	}
	user := field.NewPath("user")
	if reasons := UserName(id.User.Name, false); len(reasons) != 0 {
		errs = append(errs, field.Invalid(user.Child("name"), id.User.Name, strings.Join(reasons, ", ")))
	}
	if id.User.Name == "" && id.User.UID != "" {
		errs = append(errs, field.Required(user.Child("username"), "username is required when uid is provided"))
	}
	if id.User.Name != "" && id.User.UID == "" {
		errs = append(errs, field.Required(user.Child("uid"), "uid is required when username is provided"))
	}
	return errs
}

// IdentityUpdate validates an update of an Identity, whose provider fields never change.
func IdentityUpdate(id, old *userv1.Identity) field.ErrorList {
	errs := kvalidation.ValidateObjectMetaUpdate(&id.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, Identity(id)...)
	if id.ProviderName != old.ProviderName {
		errs = append(errs, field.Invalid(field.NewPath("providerName"), id.ProviderName, "may not change providerName"))
	}
	if id.ProviderUserName != old.ProviderUserName {
		errs = append(errs, field.Invalid(field.NewPath("providerUserName"), id.ProviderUserName, "may not change providerUserName"))
	}
	return errs
}
