package templateprocessing

import (
	"slices"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ToList returns the `v1` List that `oc process` prints from a processed template: its objects, in order. The
// items share the template's objects (the slice is copied, the objects are not).
func ToList(t *templatev1.Template) *corev1.List {
	return &corev1.List{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"},
		Items:    slices.Clone(t.Objects),
	}
}
