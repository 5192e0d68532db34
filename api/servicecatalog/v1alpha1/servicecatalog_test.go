package v1alpha1_test

import (
	"context"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

// The book's three manifests apply unchanged, and kubectl shows the kinds with their
// columns and short names.
func TestBookManifestsAreAccepted(t *testing.T) {
	ns := harness.Namespace(t)
	harness.Kubectl(t, "apply", "-f", harness.BookPath(t, "database-broker.yaml"))
	// Cluster-scoped: no namespace removes it.
	t.Cleanup(func() {
		broker := &v1alpha1.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: "database-broker"}}
		if err := harness.Get(t).Client.Delete(context.Background(), broker); err != nil {
			t.Error(err)
		}
	})
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "database-instance.yaml"))
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "my-postgres-db-binding.yaml"))
	checks := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "clusterservicebrokers"}, []string{"database-broker", "URL", "http://database-osbapi.myorganization.org"}},
		{[]string{"get", "si", "-n", ns}, []string{"my-postgres-db", "CLASS", "postgres-database", "PLAN", "free"}},
		{[]string{"get", "sb", "-n", ns}, []string{"my-postgres-db-binding", "SERVICE-INSTANCE", "my-postgres-db", "postgres-secret"}},
		{[]string{"get", "serviceinstance", "my-postgres-db", "-n", ns, "-o", "yaml"}, []string{"init-db-args: --data-checksums"}},
		{[]string{"get", "clusterserviceclasses"}, []string{"No resources found"}},
		{[]string{"get", "clusterserviceplans"}, []string{"No resources found"}},
	}
	for _, c := range checks {
		if out := harness.Kubectl(t, c.args...); !containsAll(out, c.want) {
			t.Errorf("kubectl %s lacks %q:\n%s", strings.Join(c.args, " "), c.want, out)
		}
	}
	broker := harness.Kubectl(t, "get", "clusterservicebroker", "database-broker", "-o", "jsonpath={.spec.relistInterval}")
	if broker != "15m0s" && broker != "15m" {
		t.Errorf("relistInterval defaulted to %q", broker)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// Invalid objects are rejected by the API server with a message naming the field.
func TestInvalidCatalogObjectsAreRejected(t *testing.T) {
	ns := harness.Namespace(t)
	cases := map[string]struct {
		file      string
		mutate    func(obj *unstructured.Unstructured)
		wantField string
	}{
		"broker without url":        {"database-broker.yaml", remove("spec", "url"), "spec.url"},
		"broker ftp url":            {"database-broker.yaml", set("ftp://example.org", "spec", "url"), "spec.url"},
		"broker url with a newline": {"database-broker.yaml", set("http://example.org/\nx", "spec", "url"), "spec.url"},
		"broker with basic and bearer auth": {"database-broker.yaml", func(o *unstructured.Unstructured) {
			ref := map[string]any{"namespace": "default", "name": "s"}
			_ = unstructured.SetNestedField(o.Object, map[string]any{"basic": map[string]any{"secretRef": ref}, "bearer": map[string]any{"secretRef": ref}}, "spec", "authInfo")
		}, "spec.authInfo"},
		"negative relistRequests": {"database-broker.yaml", func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(-1), "spec", "relistRequests")
		}, "spec.relistRequests"},
		"instance without class":        {"database-instance.yaml", remove("spec", "clusterServiceClassName"), "spec.clusterServiceClassName"},
		"instance without plan":         {"database-instance.yaml", remove("spec", "clusterServicePlanName"), "spec.clusterServicePlanName"},
		"instance parameters a list":    {"database-instance.yaml", setAny([]any{"x"}, "spec", "parameters"), "spec.parameters"},
		"binding without instance":      {"my-postgres-db-binding.yaml", remove("spec", "instanceRef"), "spec.instanceRef"},
		"binding with a bad secretName": {"my-postgres-db-binding.yaml", set("Not_A_Secret", "spec", "secretName"), "spec.secretName"},
		"transform with two kinds": {"my-postgres-db-binding.yaml", setAny([]any{map[string]any{
			"renameKey": map[string]any{"from": "a", "to": "b"}, "removeKey": map[string]any{"key": "c"}}}, "spec", "secretTransforms"), "spec.secretTransforms[0]"},
		"addKey with two values": {"my-postgres-db-binding.yaml", setAny([]any{map[string]any{
			"addKey": map[string]any{"key": "a", "stringValue": "x", "jsonPathExpression": "{.host}"}}}, "spec", "secretTransforms"), "spec.secretTransforms[0].addKey"},
	}
	c := harness.Get(t).Client
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj := bookObject(t, tc.file)
			if obj.GetKind() != "ClusterServiceBroker" {
				obj.SetNamespace(ns)
			}
			obj.SetName("invalid-" + strings.ReplaceAll(strings.ToLower(obj.GetKind()), "service", ""))
			tc.mutate(obj)
			err := c.Create(t.Context(), obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: err = %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.wantField) {
				t.Fatalf("error %q does not name %s", err, tc.wantField)
			}
		})
	}
}

// externalID, once set, cannot change.
func TestExternalIDIsImmutable(t *testing.T) {
	ns := harness.Namespace(t)
	obj := bookObject(t, "database-instance.yaml")
	obj.SetNamespace(ns)
	_ = unstructured.SetNestedField(obj.Object, "id-1", "spec", "externalID")
	c := harness.Get(t).Client
	if err := c.Create(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(obj.Object, "id-2", "spec", "externalID")
	if err := c.Update(t.Context(), obj); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.externalID") {
		t.Fatalf("changing externalID: %v, want Invalid naming spec.externalID", err)
	}
}

func bookObject(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(harness.BookPath(t, file))
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

func remove(fields ...string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, fields...) }
}

func set(value string, fields ...string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { _ = unstructured.SetNestedField(o.Object, value, fields...) }
}

func setAny(value any, fields ...string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { _ = unstructured.SetNestedField(o.Object, value, fields...) }
}
