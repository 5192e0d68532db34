package project

import (
	"fmt"
	"sort"

	projectv1 "github.com/openshift/api/project/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AddFieldLabelConversions lets v1 clients select projects by name and phase, as
// namespaces are (`--field-selector status.phase=Active`).
func AddFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(projectv1.GroupVersion.WithKind("Project"), func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "status.phase":
			return label, value, nil
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	})
}

// ConvertNamespace is the Project of a Namespace: the same metadata, finalizers, phase and
// conditions, as openshift-apiserver's.
func ConvertNamespace(ns *corev1.Namespace) *projectv1.Project {
	p := &projectv1.Project{ObjectMeta: *ns.ObjectMeta.DeepCopy()}
	p.Spec.Finalizers = append(p.Spec.Finalizers, ns.Spec.Finalizers...)
	p.Status.Phase = ns.Status.Phase
	p.Status.Conditions = append(p.Status.Conditions, ns.Status.Conditions...)
	return p
}

func sortByName(ps []projectv1.Project) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
}
