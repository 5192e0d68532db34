package templateprocessing

import (
	"fmt"
	"strings"

	authorizationv1 "github.com/openshift/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
)

// TranslateLegacyRBAC turns, in place, an authorization.openshift.io/v1 Role, ClusterRole,
// RoleBinding or ClusterRoleBinding (what processing makes of an old template's v1 kinds)
// into its rbac.authorization.k8s.io/v1 equivalent, which is what OpenShift 4 stores them
// as: its authorization.openshift.io group is a view of RBAC. Kubia does not serve that
// group, so the TemplateInstance controller creates the RBAC objects instead. Other
// objects are left as they are. namespace is where the object is created, the namespace
// of a ServiceAccount subject that names none.
//
// The translation follows OpenShift's conversion: a roleRef without a namespace names a
// ClusterRole, one with a namespace a Role; SystemUser and SystemGroup subjects become
// User and Group; the legacy userNames and groupNames stand for subjects when there are
// none; a rule without apiGroups is one of the core group. Rules with
// attributeRestrictions, which RBAC cannot express, are an error.
func TranslateLegacyRBAC(obj *unstructured.Unstructured, namespace string) error {
	gvk := obj.GroupVersionKind()
	if gvk.Group != authorizationv1.GroupName || gvk.Version != "v1" {
		return nil
	}
	var out runtime.Object
	var err error
	switch gvk.Kind {
	case "Role":
		out, err = translateRole(obj)
	case "ClusterRole":
		out, err = translateClusterRole(obj)
	case "RoleBinding":
		out, err = translateRoleBinding(obj, namespace)
	case "ClusterRoleBinding":
		out, err = translateClusterRoleBinding(obj, namespace)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(out)
	if err != nil {
		return err
	}
	obj.Object = m
	obj.SetAPIVersion(rbacv1.SchemeGroupVersion.String())
	obj.SetKind(gvk.Kind)
	return nil
}

func translateRole(obj *unstructured.Unstructured) (runtime.Object, error) {
	in := &authorizationv1.Role{}
	if err := fromUnstructured(obj, in); err != nil {
		return nil, err
	}
	rules, err := translateRules(in.Rules)
	return &rbacv1.Role{ObjectMeta: in.ObjectMeta, Rules: rules}, err
}

func translateClusterRole(obj *unstructured.Unstructured) (runtime.Object, error) {
	in := &authorizationv1.ClusterRole{}
	if err := fromUnstructured(obj, in); err != nil {
		return nil, err
	}
	rules, err := translateRules(in.Rules)
	return &rbacv1.ClusterRole{ObjectMeta: in.ObjectMeta, Rules: rules, AggregationRule: in.AggregationRule}, err
}

func translateRoleBinding(obj *unstructured.Unstructured, namespace string) (runtime.Object, error) {
	in := &authorizationv1.RoleBinding{}
	if err := fromUnstructured(obj, in); err != nil {
		return nil, err
	}
	subjects, err := translateSubjects(in.Subjects, in.UserNames, in.GroupNames, namespace)
	return &rbacv1.RoleBinding{ObjectMeta: in.ObjectMeta, Subjects: subjects, RoleRef: translateRoleRef(in.RoleRef)}, err
}

func translateClusterRoleBinding(obj *unstructured.Unstructured, namespace string) (runtime.Object, error) {
	in := &authorizationv1.ClusterRoleBinding{}
	if err := fromUnstructured(obj, in); err != nil {
		return nil, err
	}
	subjects, err := translateSubjects(in.Subjects, in.UserNames, in.GroupNames, namespace)
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: in.RoleRef.Name}
	return &rbacv1.ClusterRoleBinding{ObjectMeta: in.ObjectMeta, Subjects: subjects, RoleRef: ref}, err
}

func translateRoleRef(ref corev1.ObjectReference) rbacv1.RoleRef {
	kind := "ClusterRole"
	if ref.Namespace != "" {
		kind = "Role"
	}
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: ref.Name}
}

func translateRules(in []authorizationv1.PolicyRule) ([]rbacv1.PolicyRule, error) {
	out := make([]rbacv1.PolicyRule, 0, len(in))
	for i, r := range in {
		if len(r.AttributeRestrictions.Raw) > 0 || r.AttributeRestrictions.Object != nil {
			return nil, fmt.Errorf("rules[%d]: attributeRestrictions cannot be expressed in RBAC", i)
		}
		groups := r.APIGroups
		if len(groups) == 0 && len(r.Resources) > 0 {
			groups = []string{corev1.GroupName}
		}
		out = append(out, rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: groups, Resources: r.Resources,
			ResourceNames: r.ResourceNames, NonResourceURLs: r.NonResourceURLsSlice})
	}
	return out, nil
}

func translateSubjects(in []corev1.ObjectReference, users, groups []string, namespace string) ([]rbacv1.Subject, error) {
	if len(in) == 0 {
		for _, u := range users {
			in = append(in, userReference(u))
		}
		for _, g := range groups {
			in = append(in, corev1.ObjectReference{Kind: "Group", Name: g})
		}
	}
	out := make([]rbacv1.Subject, 0, len(in))
	for i, s := range in {
		switch s.Kind {
		case "User", "SystemUser":
			out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: s.Name})
		case "Group", "SystemGroup":
			out = append(out, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: s.Name})
		case "ServiceAccount":
			ns := s.Namespace
			if ns == "" {
				ns = namespace
			}
			out = append(out, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: s.Name})
		default:
			return nil, fmt.Errorf("subjects[%d]: unknown kind %q (User, Group, ServiceAccount, SystemUser or SystemGroup)", i, s.Kind)
		}
	}
	return out, nil
}

// userReference is the subject a legacy user name stands for: a service account's user
// name is the service account.
func userReference(name string) corev1.ObjectReference {
	if ns, sa, err := serviceaccount.SplitUsername(name); err == nil {
		return corev1.ObjectReference{Kind: "ServiceAccount", Namespace: ns, Name: sa}
	}
	if strings.HasPrefix(name, "system:") {
		return corev1.ObjectReference{Kind: "SystemUser", Name: name}
	}
	return corev1.ObjectReference{Kind: "User", Name: name}
}

func fromUnstructured(obj *unstructured.Unstructured, into runtime.Object) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		return fmt.Errorf("decoding %s %q: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
