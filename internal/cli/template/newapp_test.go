package template

import (
	"bytes"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKindName(t *testing.T) {
	for _, tc := range []struct {
		ref  corev1.ObjectReference
		want string
	}{
		{corev1.ObjectReference{Kind: "Secret", APIVersion: "v1"}, "secret"},
		{corev1.ObjectReference{Kind: "Deployment", APIVersion: "apps/v1"}, "deployment.apps"},
		{corev1.ObjectReference{Kind: "Website", APIVersion: "extensions.example.com/v1"}, "website.extensions.example.com"},
		{corev1.ObjectReference{Kind: "Odd", APIVersion: "a/b/c"}, "odd"},
	} {
		if got := kindName(tc.ref); got != tc.want {
			t.Errorf("kindName(%v) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

// describeTemplate prints what oc new-app's DescribeGeneratedTemplate prints.
func TestDescribeTemplate(t *testing.T) {
	tpl := &templatev1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Annotations: map[string]string{"openshift.io/display-name": "Database", "description": "Line one.\nLine two.\n"}},
		Message:    "Password: s3cret",
		Parameters: []templatev1.Parameter{
			{Name: "NAME", DisplayName: "Service name", Value: "db"},
			{Name: "PASSWORD", Value: "s3cret", Generate: "expression"},
		},
	}
	for _, tc := range []struct {
		name                string
		tpl                 *templatev1.Template
		templateNS, project string
		want                string
	}{
		{"shared", tpl, "openshift", "shop", `--> Deploying template "openshift/db" to project shop

     Database
     ---------
     Line one.
     Line two.

     Password: s3cret

     * With parameters:
        * Service name=db
        * PASSWORD=s3cret # generated

`},
		{"local, bare", &templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}, "shop", "shop", `--> Deploying template "bare" to project shop

`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &bytes.Buffer{}
			describeTemplate(out, tc.tpl, tc.templateNS, tc.project)
			if out.String() != tc.want {
				t.Errorf("printed:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
}

// The template a TemplateInstance embeds keeps none of the stored one's server metadata.
func TestInstanceTemplate(t *testing.T) {
	stored := &templatev1.Template{
		TypeMeta:   metav1.TypeMeta{Kind: "Template", APIVersion: "template.openshift.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "openshift", UID: "u", ResourceVersion: "7", Labels: map[string]string{"a": "b"}},
		Message:    "m",
	}
	got := instanceTemplate(stored)
	if got.Namespace != "" || got.UID != "" || got.ResourceVersion != "" || got.Kind != "" || got.Name != "db" || got.Labels["a"] != "b" || got.Message != "m" {
		t.Errorf("instanceTemplate = %+v", got)
	}
}
