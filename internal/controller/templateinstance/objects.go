package templateinstance

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

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
