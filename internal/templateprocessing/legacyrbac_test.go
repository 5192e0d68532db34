package templateprocessing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestTranslateLegacyRBAC(t *testing.T) {
	cases := map[string]struct {
		in      map[string]any
		want    map[string]any
		wantErr string
	}{
		"a RoleBinding to a cluster role, with a service account of the namespace (jenkins-ephemeral)": {
			in: map[string]any{"apiVersion": "authorization.openshift.io/v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": "jenkins_edit"}, "groupNames": nil,
				"roleRef":  map[string]any{"name": "edit"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "jenkins"}}},
			want: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": "jenkins_edit"},
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "jenkins", "namespace": "team"}}},
		},
		"a roleRef with a namespace names a Role; legacy names stand for subjects": {
			in: map[string]any{"apiVersion": "authorization.openshift.io/v1", "kind": "RoleBinding",
				"metadata":  map[string]any{"name": "b"},
				"roleRef":   map[string]any{"name": "reader", "namespace": "team"},
				"userNames": []any{"alice", "system:serviceaccount:other:robot", "system:admin"}, "groupNames": []any{"devs"}},
			want: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": "b"},
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
				"subjects": []any{
					map[string]any{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
					map[string]any{"kind": "ServiceAccount", "name": "robot", "namespace": "other"},
					map[string]any{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "system:admin"},
					map[string]any{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
				}},
		},
		"a Role's rule without apiGroups is of the core group": {
			in: map[string]any{"apiVersion": "authorization.openshift.io/v1", "kind": "Role",
				"metadata": map[string]any{"name": "r"},
				"rules":    []any{map[string]any{"verbs": []any{"get"}, "resources": []any{"pods"}}}},
			want: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
				"metadata": map[string]any{"name": "r"},
				"rules":    []any{map[string]any{"verbs": []any{"get"}, "apiGroups": []any{""}, "resources": []any{"pods"}}}},
		},
		"attributeRestrictions cannot be expressed": {
			in: map[string]any{"apiVersion": "authorization.openshift.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{"name": "r"},
				"rules": []any{map[string]any{"verbs": []any{"get"}, "resources": []any{"pods"},
					"attributeRestrictions": map[string]any{"kind": "X"}}}},
			wantErr: "rules[0]: attributeRestrictions cannot be expressed in RBAC",
		},
		"an unknown subject kind": {
			in: map[string]any{"apiVersion": "authorization.openshift.io/v1", "kind": "ClusterRoleBinding",
				"metadata": map[string]any{"name": "b"}, "roleRef": map[string]any{"name": "view"},
				"subjects": []any{map[string]any{"kind": "Robot", "name": "x"}}},
			wantErr: `subjects[0]: unknown kind "Robot" (User, Group, ServiceAccount, SystemUser or SystemGroup)`,
		},
		"other objects are left alone": {
			in:   map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}},
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: tc.in}
			err := TranslateLegacyRBAC(obj, "team")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, obj.Object); diff != "" {
				t.Errorf("translated (-want +got):\n%s", diff)
			}
		})
	}
}
