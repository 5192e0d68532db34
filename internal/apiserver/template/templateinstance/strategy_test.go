package templateinstance

import (
	"context"
	"strings"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage/names"
)

// allowAssign allows "assign" to the users it holds, and records what it was asked.
type allowAssign struct {
	users map[string]bool
	asked []authorizer.Attributes
}

func (a *allowAssign) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	a.asked = append(a.asked, attrs)
	if attrs.GetVerb() == "assign" && a.users[attrs.GetUser().GetName()] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func newStrategy(authz *allowAssign) strategy {
	return strategy{ObjectTyper: runtime.NewScheme(), NameGenerator: names.SimpleNameGenerator, authz: authorizer.AuthorizerFunc(authz.Authorize)}
}

func as(name string, groups ...string) context.Context {
	return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: name, UID: "uid-" + name, Groups: groups,
		Extra: map[string][]string{"scopes": {"a"}}})
}

func instance(requester string, objects ...string) *templatev1.TemplateInstance {
	ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "ti", Namespace: "ns", ResourceVersion: "1"}}
	if requester != "" {
		ti.Spec.Requester = &templatev1.TemplateInstanceRequester{Username: requester}
	}
	for _, o := range objects {
		ti.Spec.Template.Objects = append(ti.Spec.Template.Objects, runtime.RawExtension{Raw: []byte(o)})
	}
	return ti
}

func TestPrepareForCreateFillsTheRequester(t *testing.T) {
	ti := instance("")
	ti.Status.Conditions = []templatev1.TemplateInstanceCondition{{Type: templatev1.TemplateInstanceReady}}
	newStrategy(&allowAssign{}).PrepareForCreate(as("alice", "team-a"), ti)
	r := ti.Spec.Requester
	if r == nil || r.Username != "alice" || r.UID != "uid-alice" || len(r.Groups) != 1 || r.Extra["scopes"][0] != "a" {
		t.Errorf("requester %+v, want alice's name, UID, groups and extra", r)
	}
	if len(ti.Status.Conditions) != 0 {
		t.Error("a status sent with a new TemplateInstance was kept")
	}
	given := instance("bob")
	newStrategy(&allowAssign{}).PrepareForCreate(as("alice"), given)
	if given.Spec.Requester.Username != "bob" {
		t.Errorf("a given requester was replaced by %q", given.Spec.Requester.Username)
	}
}

func TestValidateRequester(t *testing.T) {
	tests := []struct {
		name, user, requester string
		assigners             map[string]bool
		wantErr               string
	}{
		{name: "oneself", user: "alice", requester: "alice"},
		{name: "someone else without assign", user: "alice", requester: "bob",
			wantErr: "spec.requester.username: Forbidden: you do not have permission to set username"},
		{name: "someone else with assign", user: "alice", requester: "bob", assigners: map[string]bool{"alice": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authz := &allowAssign{users: tt.assigners}
			errs := newStrategy(authz).Validate(as(tt.user), instance(tt.requester))
			switch {
			case tt.wantErr == "" && len(errs) > 0:
				t.Errorf("errors %v, want none", errs)
			case tt.wantErr != "" && (len(errs) != 1 || errs[0].Error() != tt.wantErr):
				t.Errorf("errors %v, want %q", errs, tt.wantErr)
			}
			if tt.user != tt.requester {
				a := authz.asked[0]
				if a.GetNamespace() != "ns" || a.GetName() != "ti" || a.GetAPIGroup() != "template.openshift.io" || a.GetResource() != "templateinstances" {
					t.Errorf("asked %+v, want assign on templateinstances ns/ti", a)
				}
			}
		})
	}
}

// The garbage collector (not the requester, and without assign) writes back the objects
// with their keys in another order and changes only finalizers: that passes. Any other
// change by someone else is checked, and a spec change is refused.
func TestValidateUpdate(t *testing.T) {
	old := instance("bob", `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"}}`)
	reordered := instance("bob", `{"apiVersion":"v1","metadata":{"name":"x"},"kind":"ConfigMap"}`)
	reordered.Finalizers = []string{"template.openshift.io/finalizer"}
	s := newStrategy(&allowAssign{})
	if errs := s.ValidateUpdate(as("system:serviceaccount:kube-system:generic-garbage-collector"), reordered, old); len(errs) != 0 {
		t.Errorf("the garbage collector's update: %v, want accepted", errs)
	}
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := s.ValidateUpdate(as("alice"), labelled, old); len(errs) != 1 || !strings.Contains(errs[0].Error(), "permission to set username") {
		t.Errorf("alice relabels bob's instance: %v, want the requester check", errs)
	}
	changed := instance("bob", `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"x"}}`)
	if errs := s.ValidateUpdate(as("bob"), changed, old); len(errs) != 1 || errs[0].Error() != "spec: Forbidden: field is immutable" {
		t.Errorf("an object changed: %v, want spec immutable", errs)
	}
}
