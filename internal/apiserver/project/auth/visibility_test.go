package auth

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/user"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

var getNamespaces = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}}

func visibility(t *testing.T, objs ...any) Visibility {
	t.Helper()
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	roles, rbs, crs, crbs := idx(), idx(), idx(), idx()
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *rbacv1.Role:
			err = roles.Add(o)
		case *rbacv1.RoleBinding:
			err = rbs.Add(o)
		case *rbacv1.ClusterRole:
			err = crs.Add(o)
		case *rbacv1.ClusterRoleBinding:
			err = crbs.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return Visibility{Roles: rbaclisters.NewRoleLister(roles), RoleBindings: rbaclisters.NewRoleBindingLister(rbs),
		ClusterRoles: rbaclisters.NewClusterRoleLister(crs), ClusterRoleBindings: rbaclisters.NewClusterRoleBindingLister(crbs)}
}

func clusterRole(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
}

func binding(ns, name string, ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: ref, Subjects: subjects}
}

var (
	adminRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}
	alice    = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}
	devs     = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "dev"}
)

// The namespaces a user sees: by RoleBindings in them (to a ClusterRole or a Role that
// gets namespaces, by name or all), by their groups, as a service account, or all by a
// ClusterRoleBinding.
func TestNamespaces(t *testing.T) {
	v := visibility(t,
		clusterRole("admin", getNamespaces, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"*"}}),
		clusterRole("pods-only", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}),
		clusterRole("reader", rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get"}}),
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "gamma", Name: "see-gamma"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"gamma"}, Verbs: []string{"get"}}}},
		binding("alpha", "admin", adminRef, alice),
		binding("beta", "admin", adminRef, devs),
		binding("gamma", "see", rbacv1.RoleRef{Kind: "Role", Name: "see-gamma"}, alice),
		binding("delta", "pods", rbacv1.RoleRef{Kind: "ClusterRole", Name: "pods-only"}, alice),
		binding("epsilon", "missing-role", rbacv1.RoleRef{Kind: "ClusterRole", Name: "nope"}, alice),
		binding("zeta", "sa", adminRef, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "builder"}),
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "readers"},
			RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "reader"}, Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "auditors"}}},
	)
	tests := []struct {
		name  string
		user  user.Info
		all   bool
		named []string
	}{
		{"alice", &user.DefaultInfo{Name: "alice"}, false, []string{"alpha", "gamma"}},
		{"alice in dev", &user.DefaultInfo{Name: "alice", Groups: []string{"dev"}}, false, []string{"alpha", "beta", "gamma"}},
		{"bob", &user.DefaultInfo{Name: "bob"}, false, nil},
		{"zeta's service account", &user.DefaultInfo{Name: "system:serviceaccount:zeta:builder"}, false, []string{"zeta"}},
		{"another namespace's service account", &user.DefaultInfo{Name: "system:serviceaccount:alpha:builder"}, false, nil},
		{"an auditor", &user.DefaultInfo{Name: "carol", Groups: []string{"auditors"}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, named, err := v.Namespaces(tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if all != tt.all || (!all && !named.Equal(sets.New(tt.named...))) {
				t.Errorf("all %v named %v, want %v %v", all, sets.List(named), tt.all, tt.named)
			}
		})
	}
}
