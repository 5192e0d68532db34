package validation

import (
	"strings"
	"testing"

	userv1 "github.com/openshift/api/user/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// expect checks errs: none when want is "", else one whose text holds want.
func expect(t *testing.T, errs field.ErrorList, want string) {
	t.Helper()
	if want == "" {
		if len(errs) > 0 {
			t.Errorf("errors %v, want none", errs)
		}
		return
	}
	if !strings.Contains(errs.ToAggregate().Error(), want) {
		t.Errorf("errors %v, want %q", errs, want)
	}
}

// OpenShift's validation test situations, rewritten as tables with the messages.
func TestUser(t *testing.T) {
	tests := []struct {
		name   string
		change func(*userv1.User)
		want   string
	}{
		{"valid", func(*userv1.User) {}, ""},
		{"b64 name", func(u *userv1.User) { u.Name = "b64:YWxpY2U6eA==" }, ""},
		{"colon", func(u *userv1.User) { u.Name = "alice:x" }, `metadata.name: Invalid value: "alice:x": usernames that contain ":" must begin with "b64:"`},
		{"tilde", func(u *userv1.User) { u.Name = "~" }, `may not equal "~"`},
		{"slash", func(u *userv1.User) { u.Name = "a/b" }, `may not contain '/'`},
		{"empty identity", func(u *userv1.User) { u.Identities = []string{""} }, `identities[0]`},
		{"identity without provider user", func(u *userv1.User) { u.Identities = []string{"foo"} },
			`identities[0]: Invalid value: "foo": must be in the format <providerName>:<providerUserName>`},
		{"groups set", func(u *userv1.User) { u.Groups = []string{"dev"} }, `groups: Invalid value: ["dev"]: is deprecated and cannot be set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &userv1.User{ObjectMeta: metav1.ObjectMeta{Name: "alice"}, Identities: []string{"htpasswd:alice"}}
			tt.change(u)
			expect(t, User(u), tt.want)
		})
	}
}

func TestGroup(t *testing.T) {
	tests := []struct {
		name   string
		change func(*userv1.Group)
		want   string
	}{
		{"valid", func(*userv1.Group) {}, ""},
		{"empty user", func(g *userv1.Group) { g.Users = []string{""} }, `user[0]: Invalid value: "": may not be empty`},
		{"bad user", func(g *userv1.Group) { g.Users = []string{"bad:user:name"} }, `user[0]: Invalid value: "bad:user:name": usernames that contain ":" must begin with "b64:"`},
		{"bad name", func(g *userv1.Group) { g.Name = "bad:group" }, `metadata.name: Invalid value: "bad:group": may not contain ":"`},
		{"tilde", func(g *userv1.Group) { g.Name = "~" }, `may not equal "~"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &userv1.Group{ObjectMeta: metav1.ObjectMeta{Name: "dev"}, Users: []string{"alice"}}
			tt.change(g)
			expect(t, Group(g), tt.want)
		})
	}
}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name   string
		change func(*userv1.Identity)
		want   string
	}{
		{"valid", func(*userv1.Identity) {}, ""},
		{"not mapped yet", func(id *userv1.Identity) { id.User = corev1.ObjectReference{} }, ""},
		{"b64 provider user", func(id *userv1.Identity) { id.Name, id.ProviderUserName = "htpasswd:b64:YTpi", "b64:YTpi" }, ""},
		{"name not provider:user", func(id *userv1.Identity) { id.Name = "htpasswd:bob" }, `metadata.name: Invalid value: "htpasswd:bob": must be htpasswd:alice`},
		{"no provider", func(id *userv1.Identity) { id.ProviderName = "" }, `providerName: Required value`},
		{"provider with colon", func(id *userv1.Identity) { id.ProviderName = "a:b" }, `providerName: Invalid value: "a:b": may not contain ":"`},
		{"no provider user", func(id *userv1.Identity) { id.ProviderUserName = "" }, `providerUserName: Required value`},
		{"name without provider", func(id *userv1.Identity) { id.Name = ":alice" }, `with a non-empty providerName`},
		{"uid without name", func(id *userv1.Identity) { id.User.Name = "" }, `user.username: Required value: username is required when uid is provided`},
		{"name without uid", func(id *userv1.Identity) { id.User.UID = "" }, `user.uid: Required value: uid is required when username is provided`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := &userv1.Identity{ObjectMeta: metav1.ObjectMeta{Name: "htpasswd:alice"}, ProviderName: "htpasswd", ProviderUserName: "alice",
				User: corev1.ObjectReference{Name: "alice", UID: "u1"}}
			tt.change(id)
			expect(t, Identity(id), tt.want)
		})
	}
}

func TestIdentityUpdateKeepsTheProvider(t *testing.T) {
	old := &userv1.Identity{ObjectMeta: metav1.ObjectMeta{Name: "htpasswd:alice", ResourceVersion: "1"}, ProviderName: "htpasswd", ProviderUserName: "alice"}
	changed := old.DeepCopy()
	changed.ProviderName, changed.Name = "ldap", "ldap:alice"
	expect(t, IdentityUpdate(changed, old), "providerName: Invalid value: \"ldap\": may not change providerName")
}
