// Package websiteapi_test checks the Website API on a real API server in both install
// modes: served by the CRD, then by kubia-apiserver through the aggregator. Users must not
// be able to tell them apart, but for kubia-apiserver's extra validation.
package websiteapi_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubia-dev/kubia/internal/manifest"
	"github.com/kubia-dev/kubia/test/harness"
	"github.com/kubia-dev/kubia/test/websitecases"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithWebsiteModes()) }

// The book's manifest applies unchanged, and kubectl handles Websites like built-in kinds.
func TestBookWebsiteIsAccepted(t *testing.T) {
	ns := harness.Namespace(t)
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "kubia-website.yaml"))
	out := harness.Kubectl(t, "get", "websites", "-n", ns)
	for _, want := range []string{"NAME", "URL", "READY", "REASON", "AGE", "kubia"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get websites lacks %q (printer columns):\n%s", want, out)
		}
	}
	out = harness.Kubectl(t, "get", "ws", "kubia", "-n", ns, "-o", "yaml")
	for _, want := range []string{"gitRepo: https://github.com/luksa/kubia-website-example.git", "replicas: 1", "syncInterval: 1m", "serviceType: NodePort", "uid:", "generation: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get website kubia -o yaml lacks %q (defaults and metadata):\n%s", want, out)
		}
	}
	harness.Kubectl(t, "delete", "website", "kubia", "-n", ns)
}

// Invalid Websites are rejected by the API server with a message naming the field: the
// same inputs in both modes, from one table.
func TestInvalidWebsitesAreRejected(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	for _, tc := range websitecases.Rejected() {
		t.Run(tc.Name, func(t *testing.T) {
			obj := bookWebsite(t)
			obj.SetNamespace(ns)
			tc.Mutate(obj)
			err := c.Create(t.Context(), obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: err = %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.Field) {
				t.Fatalf("error %q does not name %s", err, tc.Field)
			}
		})
	}
}

// kubia-apiserver also rejects what a schema cannot check well; the CRD takes it.
func TestAPIServerRejectsMore(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	for i, tc := range websitecases.RejectedByAPIServerOnly() {
		t.Run(tc.Name, func(t *testing.T) {
			obj := bookWebsite(t)
			obj.SetNamespace(ns)
			obj.SetName(fmt.Sprintf("site-%d", i))
			tc.Mutate(obj)
			err := c.Create(t.Context(), obj)
			switch harness.Mode() {
			case harness.AggregatedMode:
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.Field) {
					t.Fatalf("create: err = %v, want Invalid naming %s", err, tc.Field)
				}
			default:
				if err != nil {
					t.Fatalf("the CRD rejects it too (then move the case to websitecases.Rejected): %v", err)
				}
			}
		})
	}
}

// Field selectors find the Websites of a repository or of a Secret.
func TestFieldSelectors(t *testing.T) {
	ns := harness.Namespace(t)
	for name, spec := range map[string]string{
		"one":   `{"gitRepo": "https://example.org/one.git"}`,
		"two":   `{"gitRepo": "https://example.org/two.git", "secretRef": {"name": "creds"}}`,
		"three": `{"gitRepo": "https://example.org/two.git", "serviceType": "ClusterIP"}`,
	} {
		manifest := `{"apiVersion": "extensions.example.com/v1", "kind": "Website", "metadata": {"name": "` + name + `"}, "spec": ` + spec + `}`
		path := t.TempDir() + "/w.json"
		if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		harness.Kubectl(t, "create", "-n", ns, "-f", path)
	}
	for selector, want := range map[string]string{
		"spec.gitRepo=https://example.org/two.git":                             "three two",
		"spec.secretRef.name=creds":                                            "two",
		"spec.serviceType=NodePort":                                            "one two",
		"spec.gitRepo=https://example.org/two.git,spec.serviceType!=ClusterIP": "two",
	} {
		out := harness.Kubectl(t, "get", "websites", "-n", ns, "--field-selector", selector, "-o", "jsonpath={.items[*].metadata.name}")
		if strings.TrimSpace(out) != want {
			t.Errorf("--field-selector %s: got %q, want %q", selector, out, want)
		}
	}
	if _, err := harness.KubectlErr(t, "get", "websites", "-n", ns, "--field-selector", "spec.ref=main"); err == nil {
		t.Error("a field selector on an unselectable field was accepted")
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
