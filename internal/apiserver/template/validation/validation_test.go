package validation

import (
	"strings"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateTemplate(t *testing.T) {
	valid := func() *templatev1.Template {
		return &templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"},
			Parameters: []templatev1.Parameter{{Name: "GOOD_1"}, {Name: "good"}}}
	}
	tests := []struct {
		name   string
		change func(*templatev1.Template)
		want   []string // one substring per expected error; none: valid
	}{
		{"valid", func(*templatev1.Template) {}, nil},
		{"no name", func(t *templatev1.Template) { t.Name = "" }, []string{"metadata.name: Required value"}},
		{"no namespace", func(t *templatev1.Template) { t.Namespace = "" }, []string{"metadata.namespace: Required value"}},
		{"name not a DNS subdomain", func(t *templatev1.Template) { t.Name = "Bad_Name" }, []string{`metadata.name: Invalid value: "Bad_Name"`}},
		{"parameter without a name", func(t *templatev1.Template) { t.Parameters = append(t.Parameters, templatev1.Parameter{Value: "x"}) },
			[]string{"parameters[2].name: Required value"}},
		{"parameter name with a dash", func(t *templatev1.Template) { t.Parameters[0].Name = "my-param" },
			[]string{`parameters[0].name: Invalid value: "my-param": does not match ^[a-zA-Z0-9_]+$`}},
		{"parameter name with ${}", func(t *templatev1.Template) { t.Parameters[1].Name = "${X}" },
			[]string{`parameters[1].name: Invalid value: "${X}"`}},
		// OpenShift does not reject two parameters of one name: the last one wins.
		{"duplicate parameter names", func(t *templatev1.Template) { t.Parameters[1].Name = "GOOD_1" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := valid()
			tt.change(tpl)
			assertErrors(t, ValidateTemplate(tpl), tt.want)
		})
	}
}

// An update checks only the metadata, as OpenShift's: a parameter name a create refuses
// passes.
func TestValidateTemplateUpdate(t *testing.T) {
	old := &templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns", ResourceVersion: "1"}}
	updated := old.DeepCopy()
	updated.Parameters = []templatev1.Parameter{{Name: "my-param"}}
	if errs := ValidateTemplateUpdate(updated, old); len(errs) != 0 {
		t.Errorf("update with a bad parameter name: %v, want accepted as on OpenShift", errs)
	}
	renamed := old.DeepCopy()
	renamed.Name = "other"
	if errs := ValidateTemplateUpdate(renamed, old); len(errs) == 0 {
		t.Error("renaming passed; want metadata.name immutable")
	}
}

func TestValidateTemplateInstance(t *testing.T) {
	valid := func() *templatev1.TemplateInstance {
		return &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "ti", Namespace: "ns"},
			Spec: templatev1.TemplateInstanceSpec{Requester: &templatev1.TemplateInstanceRequester{Username: "alice"}}}
	}
	tests := []struct {
		name   string
		change func(*templatev1.TemplateInstance)
		want   []string
	}{
		{"valid, the template without a name or namespace", func(*templatev1.TemplateInstance) {}, nil},
		{"no requester", func(ti *templatev1.TemplateInstance) { ti.Spec.Requester = nil }, []string{"spec.requester: Required value"}},
		{"no requester username", func(ti *templatev1.TemplateInstance) { ti.Spec.Requester.Username = "" }, []string{"spec.requester.username: Required value"}},
		{"secret without a name", func(ti *templatev1.TemplateInstance) { ti.Spec.Secret = &corev1.LocalObjectReference{} }, []string{"spec.secret.name: Required value"}},
		{"secret with a bad name", func(ti *templatev1.TemplateInstance) { ti.Spec.Secret = &corev1.LocalObjectReference{Name: "A_B"} }, []string{`spec.secret.name: Invalid value: "A_B"`}},
		{"template parameter names", func(ti *templatev1.TemplateInstance) {
			ti.Spec.Template.Parameters = []templatev1.Parameter{{Name: "a-b"}}
		}, []string{`spec.template.parameters[0].name: Invalid value: "a-b"`}},
		{"template name not a DNS subdomain", func(ti *templatev1.TemplateInstance) { ti.Spec.Template.Name = "UPPER" }, []string{`spec.template.metadata.name: Invalid value: "UPPER"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti := valid()
			tt.change(ti)
			assertErrors(t, ValidateTemplateInstance(ti), tt.want)
		})
	}
}

func TestValidateTemplateInstanceUpdate(t *testing.T) {
	old := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "ti", Namespace: "ns", ResourceVersion: "1"},
		Spec: templatev1.TemplateInstanceSpec{Requester: &templatev1.TemplateInstanceRequester{Username: "alice"}}}
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := ValidateTemplateInstanceUpdate(labelled, old); len(errs) != 0 {
		t.Errorf("a label added: %v, want accepted", errs)
	}
	changed := old.DeepCopy()
	changed.Spec.Requester.Username = "bob"
	errs := ValidateTemplateInstanceUpdate(changed, old)
	if len(errs) != 1 || errs[0].Error() != "spec: Forbidden: field is immutable" {
		t.Errorf("spec changed: %v, want spec: Forbidden: field is immutable", errs)
	}
}

// assertErrors checks that errs are as many as want, each containing its substring.
func assertErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %d: %q", errs, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d: %q, want %q", i, errs[i].Error(), w)
		}
	}
}
