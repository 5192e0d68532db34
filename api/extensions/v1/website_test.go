package v1_test

import (
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubia-dev/kubia/internal/manifest"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

// The book's manifest applies unchanged, and kubectl handles Websites like built-in kinds.
func TestBookWebsiteIsAccepted(t *testing.T) {
	ns := harness.Namespace(t)
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "kubia-website.yaml"))
	if out := harness.Kubectl(t, "get", "websites", "-n", ns); !strings.Contains(out, "kubia") || !strings.Contains(out, "URL") {
		t.Fatalf("kubectl get websites:\n%s", out)
	}
	out := harness.Kubectl(t, "get", "ws", "kubia", "-n", ns, "-o", "yaml")
	for _, want := range []string{"gitRepo: https://github.com/luksa/kubia-website-example.git", "replicas: 1", "syncInterval: 1m", "serviceType: NodePort", "uid:"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get website kubia -o yaml lacks %q (defaults and metadata):\n%s", want, out)
		}
	}
	harness.Kubectl(t, "delete", "website", "kubia", "-n", ns)
}

// Invalid Websites are rejected by the API server with a message naming the field.
func TestInvalidWebsitesAreRejected(t *testing.T) {
	ns := harness.Namespace(t)
	cases := map[string]struct {
		mutate    func(obj *unstructured.Unstructured)
		wantField string
	}{
		"missing gitRepo": {func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, "spec", "gitRepo") }, "spec.gitRepo"},
		"file:// URL":     {setSpec("gitRepo", "file:///etc/passwd"), "spec.gitRepo"},
		"local path":      {setSpec("gitRepo", "/srv/git/site.git"), "spec.gitRepo"},
		"ftp:// URL":      {setSpec("gitRepo", "ftp://example.org/site.git"), "spec.gitRepo"},
		"newline in URL":  {setSpec("gitRepo", "https://example.org/site.git\nmalicious"), "spec.gitRepo"},
		"space in URL":    {setSpec("gitRepo", "https://example.org/my site.git"), "spec.gitRepo"},
		"too long URL":    {setSpec("gitRepo", "https://example.org/"+strings.Repeat("a", 2100)), "spec.gitRepo"},
		"negative replicas": {func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(-1), "spec", "replicas")
		}, "spec.replicas"},
		"too many replicas": {func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(101), "spec", "replicas")
		}, "spec.replicas"},
		"ref with ..":         {setSpec("ref", "main/../../x"), "spec.ref"},
		"ref as an option":    {setSpec("ref", "--upload-pack=evil"), "spec.ref"},
		"too short interval":  {setSpec("syncInterval", "1s"), "spec.syncInterval"},
		"unknown serviceType": {setSpec("serviceType", "ExternalName"), "spec.serviceType"},
		"name too long for its children": {func(o *unstructured.Unstructured) {
			o.SetName(strings.Repeat("a", 56))
		}, "metadata.name"},
		"name starting with a digit": {func(o *unstructured.Unstructured) { o.SetName("1st-site") }, "metadata.name"},
	}
	c := harness.Get(t).Client
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj := bookWebsite(t)
			obj.SetNamespace(ns)
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

func bookWebsite(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(harness.BookPath(t, "kubia-website.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Decode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding the book's Website: %v (%d objects)", err, len(objs))
	}
	return objs[0]
}

func setSpec(field, value string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, value, "spec", field)
	}
}
