package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	userv1 "github.com/openshift/api/user/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/test/harness"
)

// clientOf is a client of the kinds install registers, as cfg's user.
func clientOf(t *testing.T, cfg *rest.Config, install func(*runtime.Scheme) error) client.WithWatch {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := install(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userClient(t *testing.T, cfg *rest.Config) client.Client {
	return clientOf(t, cfg, userv1.Install)
}

// Users, Groups and Identities through the aggregator: OpenShift's validation messages,
// a User's groups never stored, an Identity named after its provider and user, oc's
// columns.
func TestUsersGroupsIdentities(t *testing.T) {
	c := userClient(t, harness.Get(t).Config)
	name := "alice-" + rand.String(5)
	u := &userv1.User{ObjectMeta: metav1.ObjectMeta{Name: name}, FullName: "Alice Liddell", Identities: []string{"htpasswd:" + name}}
	if err := c.Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(t.Context(), u) })
	id := &userv1.Identity{ObjectMeta: metav1.ObjectMeta{Name: "anything"}, ProviderName: "htpasswd", ProviderUserName: name,
		User: corev1.ObjectReference{Name: name, UID: u.UID}}
	if err := c.Create(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(t.Context(), id) })
	if id.Name != "htpasswd:"+name {
		t.Errorf("identity named %q, want htpasswd:%s", id.Name, name)
	}
	g := &userv1.Group{ObjectMeta: metav1.ObjectMeta{Name: "dev-" + name}, Users: []string{name}}
	if err := c.Create(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(t.Context(), g) })

	for _, bad := range []struct {
		obj  client.Object
		want string
	}{
		{&userv1.User{ObjectMeta: metav1.ObjectMeta{Name: "a:b"}}, `usernames that contain ":" must begin with "b64:"`},
		{&userv1.User{ObjectMeta: metav1.ObjectMeta{Name: "grouped"}, Groups: []string{"x"}}, ""}, // groups dropped, not refused
		{&userv1.Group{ObjectMeta: metav1.ObjectMeta{Name: "g"}, Users: []string{""}}, `user[0]: Invalid value: "": may not be empty`},
		{&userv1.Identity{ProviderName: "a:b", ProviderUserName: "x"}, `providerName: Invalid value: "a:b": may not contain ":"`},
	} {
		err := c.Create(t.Context(), bad.obj)
		if bad.want == "" {
			if err != nil {
				t.Errorf("%T %s: %v", bad.obj, bad.obj.GetName(), err)
			} else {
				if got := bad.obj.(*userv1.User).Groups; len(got) != 0 {
					t.Errorf("a User's groups were stored: %v", got)
				}
				_ = c.Delete(t.Context(), bad.obj)
			}
			continue
		}
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%T %s: %v, want Invalid %q", bad.obj, bad.obj.GetName(), err, bad.want)
		}
	}
	if err := c.Get(t.Context(), client.ObjectKey{Name: "a:b"}, &userv1.User{}); !apierrors.IsInvalid(err) {
		t.Errorf("get of a name no User can have: %v, want Invalid", err)
	}

	for args, want := range map[string][]string{
		"users " + name:               {"NAME", "UID", "FULL NAME", "IDENTITIES", "Alice Liddell", "htpasswd:" + name},
		"groups dev-" + name:          {"NAME", "USERS", name},
		"identities htpasswd:" + name: {"IDP NAME", "IDP USER NAME", "USER NAME", "USER UID", string(u.UID)},
	} {
		out := harness.Kubectl(t, append([]string{"get"}, strings.Fields(args)...)...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("kubectl get %s lacks %q:\n%s", args, w, out)
			}
		}
	}
}

// users/~ is the caller: their stored User with the groups authentication gave them
// (sorted, once each), or a User made of those when none is stored or none can be (a
// service account).
func TestCurrentUser(t *testing.T) {
	admin := userClient(t, harness.Get(t).Config)
	name := "bob-" + rand.String(5)
	stored := &userv1.User{ObjectMeta: metav1.ObjectMeta{Name: name}, FullName: "Bob"}
	if err := admin.Create(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(t.Context(), stored) })
	// What the chart grants every authenticated user (apiserver-user-rbac.yaml).
	grantEveryone(t, rbacv1.PolicyRule{APIGroups: []string{userv1.GroupName}, Resources: []string{"users"},
		ResourceNames: []string{"~"}, Verbs: []string{"get"}})

	tests := []struct {
		user, fullName string
		groups, want   []string
	}{
		{name, "Bob", []string{"system:authenticated", "dev", "dev"}, []string{"dev", "system:authenticated"}},
		{"nobody-" + name, "", []string{"system:authenticated"}, []string{"system:authenticated"}},
		{"system:serviceaccount:default:builder", "", []string{"system:serviceaccounts", "system:authenticated"},
			[]string{"system:authenticated", "system:serviceaccounts"}},
	}
	for _, tt := range tests {
		var me userv1.User
		harness.Eventually(t, time.Minute, "users/~ as "+tt.user, func(ctx context.Context) error {
			return userClient(t, harness.ConfigAs(t, tt.user, tt.groups...)).Get(ctx, client.ObjectKey{Name: "~"}, &me)
		})
		if me.Name != tt.user || me.FullName != tt.fullName || strings.Join(me.Groups, ",") != strings.Join(tt.want, ",") {
			t.Errorf("users/~ as %s: %s %q %v, want %q %v", tt.user, me.Name, me.FullName, me.Groups, tt.fullName, tt.want)
		}
	}
	// Without the chart's grant, a user may read no one else.
	err := userClient(t, harness.ConfigAs(t, "nobody-"+name, "system:authenticated")).Get(t.Context(), client.ObjectKey{Name: name}, &userv1.User{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("reading another user: %v, want Forbidden", err)
	}
}
