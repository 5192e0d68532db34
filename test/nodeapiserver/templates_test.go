package nodeapiserver

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubia-dev/kubia/test/harness"
)

var (
	templates          = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "templates"}
	processedTemplates = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "processedtemplates"}
)

// templatesThroughRoles checks the chart's aggregated ClusterRoles: a user bound to
// Kubernetes' edit role in ns writes and processes Templates there, one bound to view
// reads them and may not process them.
func templatesThroughRoles(t *testing.T, ns string) {
	bind(t, ns, "erin", "edit")
	bind(t, ns, "vera", "view")
	erin, vera := as(t, "erin"), as(t, "vera")
	tpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "template.openshift.io/v1", "kind": "Template",
		"metadata":   map[string]any{"name": "hello"},
		"parameters": []any{map[string]any{"name": "NAME", "value": "world"}},
		"objects":    []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "${NAME}"}}},
	}}
	harness.Eventually(t, time.Minute, "edit may create Templates", func(ctx context.Context) error {
		_, err := erin.Resource(templates).Namespace(ns).Create(ctx, tpl, metav1.CreateOptions{})
		return err
	})
	processed, err := erin.Resource(processedTemplates).Namespace(ns).Create(t.Context(), tpl, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("edit processes a Template: %v", err)
	}
	objects, _, _ := unstructured.NestedSlice(processed.Object, "objects")
	if len(objects) != 1 || objects[0].(map[string]any)["metadata"].(map[string]any)["name"] != "world" {
		t.Errorf("processed objects %v, want the ConfigMap named world", objects)
	}
	harness.Eventually(t, time.Minute, "view may read Templates", func(ctx context.Context) error {
		_, err := vera.Resource(templates).Namespace(ns).Get(ctx, "hello", metav1.GetOptions{})
		return err
	})
	if _, err := vera.Resource(processedTemplates).Namespace(ns).Create(t.Context(), tpl, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("view processes a Template: %v, want Forbidden", err)
	}
}

func bind(t *testing.T, ns, user, clusterRole string) {
	t.Helper()
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + clusterRole, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if _, err := harness.Get(t).Clientset.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func as(t *testing.T, user string) dynamic.Interface {
	t.Helper()
	c, err := dynamic.NewForConfig(harness.ConfigAs(t, user))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
