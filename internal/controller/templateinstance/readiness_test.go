package templateinstance

import (
	"errors"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func deployment(generation, observed int64, conditions ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "d", "generation": generation},
		"status":   map[string]any{"observedGeneration": observed, "conditions": conditions},
	}}
}

func condition(typ, status, reason string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason}
}

// OpenShift's Deployment readiness: rolled out and available, at the observed generation.
func TestDeploymentReady(t *testing.T) {
	cases := map[string]struct {
		obj           *unstructured.Unstructured
		ready, failed bool
	}{
		"rolled out":        {obj: deployment(2, 2, condition("Progressing", "True", "NewReplicaSetAvailable"), condition("Available", "True", "MinimumReplicasAvailable")), ready: true},
		"still rolling out": {obj: deployment(2, 2, condition("Progressing", "True", "ReplicaSetUpdated"), condition("Available", "True", ""))},
		"an old generation": {obj: deployment(3, 2, condition("Progressing", "True", "NewReplicaSetAvailable"), condition("Available", "True", ""))},
		"no conditions yet": {obj: deployment(1, 1)},
		"past its deadline": {obj: deployment(1, 1, condition("Progressing", "False", "ProgressDeadlineExceeded")), failed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ready, failed, err := deploymentReady(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if ready != tc.ready || failed != tc.failed {
				t.Errorf("ready %v failed %v, want %v %v", ready, failed, tc.ready, tc.failed)
			}
		})
	}
}

// An instance is instantiated once every template object is in the status with a UID;
// the intent written before creation (no UIDs) is not enough.
func TestInstantiated(t *testing.T) {
	ti := &templatev1.TemplateInstance{}
	ti.Spec.Template.Objects = make([]runtime.RawExtension, 2)
	ref := func(uid string) templatev1.TemplateInstanceObject {
		return templatev1.TemplateInstanceObject{Ref: corev1.ObjectReference{Name: "x", UID: types.UID(uid)}}
	}
	cases := map[string]struct {
		objects []templatev1.TemplateInstanceObject
		want    bool
	}{
		"nothing yet":      {nil, false},
		"the intent":       {[]templatev1.TemplateInstanceObject{ref(""), ref("")}, false},
		"half created":     {[]templatev1.TemplateInstanceObject{ref("a"), ref("")}, false},
		"all created":      {[]templatev1.TemplateInstanceObject{ref("a"), ref("b")}, true},
		"a different list": {[]templatev1.TemplateInstanceObject{ref("a")}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := instantiated(ti, &templatev1.TemplateInstanceStatus{Objects: tc.objects}); got != tc.want {
				t.Errorf("instantiated = %v, want %v", got, tc.want)
			}
		})
	}
}

// A failure of several objects is one line per object, as OpenShift writes it.
func TestFormatError(t *testing.T) {
	err := errors.Join(errors.New("unable to create a"), errors.New("unable to create b"))
	if got, want := formatError(err), "unable to create a\nunable to create b"; got != want {
		t.Errorf("formatError = %q, want %q", got, want)
	}
	if got := formatError(errors.New("one")); got != "one" {
		t.Errorf("formatError = %q, want one", got)
	}
}
