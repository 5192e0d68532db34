package templateinstance

import (
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func metaType(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: authorizationv1.SchemeGroupVersion.String(), Kind: kind}
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func createOptions() metav1.CreateOptions { return metav1.CreateOptions{FieldManager: fieldManager} }

func dryRunOptions() metav1.CreateOptions {
	return metav1.CreateOptions{FieldManager: fieldManager, DryRun: []string{metav1.DryRunAll}}
}
