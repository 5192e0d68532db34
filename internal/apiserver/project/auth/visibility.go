// Package auth tells which namespaces a user may see as projects, as openshift-apiserver's
// project authorization cache does: the namespaces whose `get` RBAC allows the user, or one
// of their groups, by a RoleBinding in the namespace or a ClusterRoleBinding. It reads
// RBAC from informers (kept current by watches) rather than asking for a
// SubjectAccessReview per namespace per request; only RBAC's grants count (another
// authorizer's, such as system:masters' or a webhook's, are not seen).
package auth

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
)

// Visibility answers from RBAC's listers.
type Visibility struct {
	Roles               rbaclisters.RoleLister
	RoleBindings        rbaclisters.RoleBindingLister
	ClusterRoles        rbaclisters.ClusterRoleLister
	ClusterRoleBindings rbaclisters.ClusterRoleBindingLister
}

// Namespaces is what RBAC lets u get: every namespace (all) or those named.
func (v Visibility) Namespaces(u user.Info) (all bool, named sets.Set[string], err error) {
	named = sets.New[string]()
	crbs, err := v.ClusterRoleBindings.List(labels.Everything())
	if err != nil {
		return false, nil, err
	}
	for _, b := range crbs {
		if !bindsUser(b.Subjects, "", u) {
			continue
		}
		rules := v.clusterRoleRules(b.RoleRef.Name)
		if allowsGetAll(rules) {
			return true, nil, nil
		}
		named.Insert(getNames(rules)...)
	}
	rbs, err := v.RoleBindings.List(labels.Everything())
	if err != nil {
		return false, nil, err
	}
	for _, b := range rbs {
		if named.Has(b.Namespace) || !bindsUser(b.Subjects, b.Namespace, u) {
			continue
		}
		rules := v.roleRules(b.Namespace, b.RoleRef)
		if allowsGetAll(rules) || sets.New(getNames(rules)...).Has(b.Namespace) {
			named.Insert(b.Namespace)
		}
	}
	return false, named, nil
}

// Visible tells whether u may get namespace ns.
func (v Visibility) Visible(u user.Info, ns string) (bool, error) {
	all, named, err := v.Namespaces(u)
	return all || named.Has(ns), err
}

func (v Visibility) clusterRoleRules(name string) []rbacv1.PolicyRule {
	r, err := v.ClusterRoles.Get(name)
	if err != nil {
		return nil // a binding to a missing role grants nothing
	}
	return r.Rules
}

func (v Visibility) roleRules(ns string, ref rbacv1.RoleRef) []rbacv1.PolicyRule {
	if ref.Kind == "ClusterRole" {
		return v.clusterRoleRules(ref.Name)
	}
	r, err := v.Roles.Roles(ns).Get(ref.Name)
	if err != nil {
		return nil
	}
	return r.Rules
}

// bindsUser tells whether subjects (of a binding in ns, "" for a cluster binding) name u,
// one of u's groups, or u as a service account, as RBAC matches them.
func bindsUser(subjects []rbacv1.Subject, ns string, u user.Info) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == u.GetName() {
				return true
			}
		case rbacv1.GroupKind:
			for _, g := range u.GetGroups() {
				if s.Name == g {
					return true
				}
			}
		case rbacv1.ServiceAccountKind:
			saNS := s.Namespace
			if saNS == "" {
				saNS = ns
			}
			if saNS != "" && serviceaccount.MakeUsername(saNS, s.Name) == u.GetName() {
				return true
			}
		}
	}
	return false
}

// getsNamespaces tells whether rule allows getting namespaces.
func getsNamespaces(rule rbacv1.PolicyRule) bool {
	return has(rule.APIGroups, "") && has(rule.Resources, "namespaces") && has(rule.Verbs, "get")
}

// has is RBAC's match of a rule's list, where "*" means all.
func has(list []string, want string) bool {
	for _, v := range list {
		if v == rbacv1.ResourceAll || v == want {
			return true
		}
	}
	return false
}

// allowsGetAll tells whether rules allow getting every namespace.
func allowsGetAll(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if getsNamespaces(r) && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

// getNames are the namespaces rules allow getting by name.
func getNames(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		if getsNamespaces(r) {
			out = append(out, r.ResourceNames...)
		}
	}
	return out
}
