package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kubia-dev/kubia/test/harness"
)

var (
	websitesV1       = schema.GroupVersionResource{Group: "extensions.example.com", Version: "v1", Resource: "websites"}
	websitesV1alpha1 = schema.GroupVersionResource{Group: "extensions.example.com", Version: "v1alpha1", Resource: "websites"}
)

func dynamicClient(t testing.TB, cfg *rest.Config) dynamic.Interface {
	t.Helper()
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grant gives user the rule in ns, through a Role and a RoleBinding.
func grant(t *testing.T, ns, user string, rule rbacv1.PolicyRule) {
	t.Helper()
	cs := harness.Get(t).Clientset
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{GenerateName: user + "-"}, Rules: []rbacv1.PolicyRule{rule}}
	role, err := cs.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func website(version, name, repo string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "extensions.example.com/" + version,
		"kind":       "Website",
		"metadata":   map[string]any{"name": name},
		"spec":       map[string]any{"gitRepo": repo},
	}}
}

// Discovery, kubectl api-resources and kubectl explain see the group through the
// aggregator, v1 preferred.
func TestDiscovery(t *testing.T) {
	out := harness.Kubectl(t, "api-resources", "--api-group=extensions.example.com", "--no-headers")
	fields := strings.Fields(out)
	if len(fields) != 5 || fields[0] != "websites" || fields[1] != "ws" || fields[2] != "extensions.example.com/v1" || fields[3] != "true" || fields[4] != "Website" {
		t.Errorf("kubectl api-resources: %q, want websites ws extensions.example.com/v1 true Website", out)
	}
	var group metav1.APIGroup
	if err := json.Unmarshal([]byte(harness.Kubectl(t, "get", "--raw", "/apis/extensions.example.com")), &group); err != nil {
		t.Fatal(err)
	}
	if group.PreferredVersion.Version != "v1" || len(group.Versions) != 2 {
		t.Errorf("discovery: %+v, want v1 preferred of v1 and v1alpha1", group)
	}
	var resources metav1.APIResourceList
	if err := json.Unmarshal([]byte(harness.Kubectl(t, "get", "--raw", "/apis/extensions.example.com/v1alpha1")), &resources); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range resources.APIResources {
		names[r.Name] = true
	}
	if !names["websites"] || !names["websites/status"] {
		t.Errorf("v1alpha1 resources: %v, want websites and websites/status", names)
	}
	explain := harness.Kubectl(t, "explain", "websites.spec.gitRepo")
	if !strings.Contains(explain, "URL of the Git repository") {
		t.Errorf("kubectl explain websites.spec.gitRepo (OpenAPI v3):\n%s", explain)
	}
	explain = harness.Kubectl(t, "explain", "websites.spec", "--api-version=extensions.example.com/v1alpha1")
	if !strings.Contains(explain, "VERSION:    v1alpha1") || !strings.Contains(explain, "gitRepo") {
		t.Errorf("kubectl explain of the v1alpha1 spec:\n%s", explain)
	}
}

// One object, two versions: written through v1alpha1, read and changed through v1, and
// read back through v1alpha1.
func TestVersionsShareObjects(t *testing.T) {
	ns := harness.Namespace(t)
	dyn := dynamicClient(t, harness.Get(t).Config)
	created, err := dyn.Resource(websitesV1alpha1).Namespace(ns).Create(t.Context(), website("v1alpha1", "site", "https://example.org/a.git"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1obj, err := dyn.Resource(websitesV1).Namespace(ns).Get(t.Context(), "site", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v1obj.GetAPIVersion() != "extensions.example.com/v1" || v1obj.GetUID() != created.GetUID() {
		t.Fatalf("read through v1: %s uid %s, want v1 uid %s", v1obj.GetAPIVersion(), v1obj.GetUID(), created.GetUID())
	}
	if r, _, _ := unstructured.NestedInt64(v1obj.Object, "spec", "replicas"); r != 1 {
		t.Errorf("v1 spec.replicas = %d, want the default 1", r)
	}
	_ = unstructured.SetNestedField(v1obj.Object, "https://example.org/b.git", "spec", "gitRepo")
	if _, err := dyn.Resource(websitesV1).Namespace(ns).Update(t.Context(), v1obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := dyn.Resource(websitesV1alpha1).Namespace(ns).Get(t.Context(), "site", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repo, _, _ := unstructured.NestedString(back.Object, "spec", "gitRepo")
	if back.GetAPIVersion() != "extensions.example.com/v1alpha1" || repo != "https://example.org/b.git" || back.GetGeneration() != 2 {
		t.Errorf("read back through v1alpha1: %s gitRepo %s generation %d, want v1alpha1, b.git, 2", back.GetAPIVersion(), repo, back.GetGeneration())
	}
	out := harness.Kubectl(t, "get", "websites.v1alpha1.extensions.example.com", "-n", ns, "site", "-o", "name")
	if strings.TrimSpace(out) != "website.extensions.example.com/site" {
		t.Errorf("kubectl get websites.v1alpha1.extensions.example.com: %q", out)
	}
}

// A watch through one version from a resourceVersion got through the other sees exactly
// the later changes, in its own version.
func TestWatchAcrossVersions(t *testing.T) {
	ns := harness.Namespace(t)
	dyn := dynamicClient(t, harness.Get(t).Config)
	first, err := dyn.Resource(websitesV1).Namespace(ns).Create(t.Context(), website("v1", "first", "https://example.org/a.git"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	w, err := dyn.Resource(websitesV1alpha1).Namespace(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: first.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := dyn.Resource(websitesV1).Namespace(ns).Create(t.Context(), website("v1", "second", "https://example.org/b.git"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"spec":{"replicas":3}}`)
	if _, err := dyn.Resource(websitesV1).Namespace(ns).Patch(t.Context(), "first", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED second", "MODIFIED first"}
	for i, wanted := range want {
		select {
		case ev := <-w.ResultChan():
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				t.Fatalf("event %d: %v %#v", i, ev.Type, ev.Object)
			}
			if got := string(ev.Type) + " " + obj.GetName(); got != wanted || obj.GetAPIVersion() != "extensions.example.com/v1alpha1" {
				t.Fatalf("event %d: %s (%s), want %s in v1alpha1", i, got, obj.GetAPIVersion(), wanted)
			}
		case <-ctx.Done():
			t.Fatalf("no event %d (%s)", i, wanted)
		}
	}
}

// Server-side apply tracks field owners: a second manager setting a field another owns
// conflicts, until it forces.
func TestServerSideApplyConflicts(t *testing.T) {
	ns := harness.Namespace(t)
	dyn := dynamicClient(t, harness.Get(t).Config)
	res := dyn.Resource(websitesV1).Namespace(ns)
	apply := func(manager string, replicas int64, force bool) error {
		obj := website("v1", "site", "https://example.org/a.git")
		_ = unstructured.SetNestedField(obj.Object, replicas, "spec", "replicas")
		_, err := res.Apply(t.Context(), "site", obj, metav1.ApplyOptions{FieldManager: manager, Force: force})
		return err
	}
	if err := apply("alice", 2, false); err != nil {
		t.Fatal(err)
	}
	err := apply("bob", 3, false)
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "alice") || !strings.Contains(err.Error(), ".spec.replicas") {
		t.Fatalf("bob's apply: %v, want a conflict with alice over .spec.replicas", err)
	}
	if err := apply("bob", 3, true); err != nil {
		t.Fatalf("bob's forced apply: %v", err)
	}
	got, err := res.Get(t.Context(), "site", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %d after bob's forced apply, want 3", r)
	}
	// Applying a status through the main resource is ignored: the status is the controller's.
	obj := website("v1", "site", "https://example.org/a.git")
	_ = unstructured.SetNestedField(obj.Object, "http://forged", "status", "url")
	applied, err := res.Apply(t.Context(), "site", obj, metav1.ApplyOptions{FieldManager: "carol", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if url, _, _ := unstructured.NestedString(applied.Object, "status", "url"); url != "" {
		t.Errorf("status.url = %q after an apply through the main resource, want it left alone", url)
	}
}

// The status subresource changes only the status; the main resource only the rest; the
// generation follows the spec.
func TestStatusSubresource(t *testing.T) {
	ns := harness.Namespace(t)
	res := dynamicClient(t, harness.Get(t).Config).Resource(websitesV1).Namespace(ns)
	obj, err := res.Create(t.Context(), website("v1", "site", "https://example.org/a.git"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(obj.Object, "http://198.18.0.1:30080", "status", "url")
	_ = unstructured.SetNestedField(obj.Object, "https://example.org/changed.git", "spec", "gitRepo")
	updated, err := res.UpdateStatus(t.Context(), obj, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url, _, _ := unstructured.NestedString(updated.Object, "status", "url")
	repo, _, _ := unstructured.NestedString(updated.Object, "spec", "gitRepo")
	if url != "http://198.18.0.1:30080" || repo != "https://example.org/a.git" || updated.GetGeneration() != 1 {
		t.Errorf("after a status update: url %q, gitRepo %q, generation %d; want the new url, the old repo, generation 1", url, repo, updated.GetGeneration())
	}
	_ = unstructured.SetNestedField(updated.Object, int64(70000), "status", "nodePort")
	if _, err := res.UpdateStatus(t.Context(), updated, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.nodePort") {
		t.Errorf("an invalid status: %v, want Invalid naming status.nodePort", err)
	}
}

// Authorization is kube-apiserver's RBAC, asked through SubjectAccessReviews: a user
// without rights is refused, a namespaced Role grants exactly its namespace.
func TestDelegatedAuthorization(t *testing.T) {
	ns, other := harness.Namespace(t), harness.Namespace(t)
	alice := dynamicClient(t, harness.ConfigAs(t, "alice"))
	_, err := alice.Resource(websitesV1).Namespace(ns).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"alice"`) {
		t.Fatalf("alice lists without a Role: %v, want Forbidden for alice", err)
	}
	grant(t, ns, "alice", rbacv1.PolicyRule{APIGroups: []string{"extensions.example.com"}, Resources: []string{"websites"}, Verbs: []string{"get", "list", "create"}})
	harness.Eventually(t, 30*time.Second, "alice may create Websites in her namespace", func(ctx context.Context) error {
		_, err := alice.Resource(websitesV1).Namespace(ns).Create(ctx, website("v1", "alices", "https://example.org/a.git"), metav1.CreateOptions{})
		return err
	})
	if _, err := alice.Resource(websitesV1).Namespace(ns).List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Errorf("alice lists in her namespace: %v", err)
	}
	if _, err := alice.Resource(websitesV1).Namespace(other).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("alice lists in another namespace: %v, want Forbidden", err)
	}
	if err := alice.Resource(websitesV1).Namespace(ns).Delete(t.Context(), "alices", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("alice deletes without the verb: %v, want Forbidden", err)
	}
}

// Only the aggregator may say who the user is: a request straight to kubia-apiserver
// with forged identity headers and no front-proxy client certificate is refused.
func TestForgedRemoteUserIsRefused(t *testing.T) {
	ns := harness.Namespace(t)
	srv := harness.AggregatedAPIServer(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// The attacker skips verification; what matters is what the server accepts.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // an attacker's client
	}}
	url := fmt.Sprintf("https://%s/apis/extensions.example.com/v1/namespaces/%s/websites", srv.URLHost(), ns)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Remote-User", "system:admin")
	req.Header.Set("X-Remote-Group", "system:masters")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged headers: %s %s, want 401 or 403", resp.Status, body)
	}
	var status metav1.Status
	if err := json.Unmarshal(body, &status); err != nil || status.Kind != "Status" || strings.Contains(string(body), "system:admin") {
		t.Errorf("refusal body %s: want a Status that does not take the forged user", body)
	}
}

// Namespace lifecycle admission: no Website in a missing or terminating namespace.
func TestNamespaceLifecycle(t *testing.T) {
	env := harness.Get(t)
	res := dynamicClient(t, env.Config).Resource(websitesV1)
	_, err := res.Namespace("no-such-namespace").Create(t.Context(), website("v1", "site", "https://example.org/a.git"), metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "no-such-namespace") {
		t.Errorf("create in a missing namespace: %v, want NotFound naming it", err)
	}

	ns := harness.Namespace(t)
	// A ConfigMap with a finalizer holds the namespace in Terminating.
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "hold", "finalizers": []any{"kubia.dev/test-hold"}}}
	cms := dynamicClient(t, env.Config).Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	if _, err := cms.Create(t.Context(), &unstructured.Unstructured{Object: cm}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cms.Patch(context.Background(), "hold", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	if err := env.Clientset.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, "creating a Website in a terminating namespace is refused", func(ctx context.Context) error {
		_, err := res.Namespace(ns).Create(ctx, website("v1", "late", "https://example.org/a.git"), metav1.CreateOptions{})
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "terminat") {
			return nil
		}
		if err == nil {
			_ = res.Namespace(ns).Delete(ctx, "late", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		}
		return fmt.Errorf("create: %v", err)
	})
}
