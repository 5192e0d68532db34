// Package websitecases holds Websites that both install modes must reject (the CRD's
// schema and kubia-apiserver's Go validation), shared by the validation unit tests and
// the integration tests of each mode, so the two cannot drift apart.
package websitecases

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Invalid is a change that makes the book's Website invalid, and the field the
// rejection must name.
type Invalid struct {
	Name   string
	Mutate func(obj *unstructured.Unstructured)
	Field  string
}

// Rejected are the invalid Websites both modes reject.
func Rejected() []Invalid {
	return []Invalid{
		{"missing gitRepo", func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, "spec", "gitRepo") }, "spec.gitRepo"},
		{"file:// URL", setSpec("gitRepo", "file:///etc/passwd"), "spec.gitRepo"},
		{"local path", setSpec("gitRepo", "/srv/git/site.git"), "spec.gitRepo"},
		{"ftp:// URL", setSpec("gitRepo", "ftp://example.org/site.git"), "spec.gitRepo"},
		{"newline in URL", setSpec("gitRepo", "https://example.org/site.git\nmalicious"), "spec.gitRepo"},
		{"space in URL", setSpec("gitRepo", "https://example.org/my site.git"), "spec.gitRepo"},
		{"too long URL", setSpec("gitRepo", "https://example.org/"+strings.Repeat("a", 2100)), "spec.gitRepo"},
		{"negative replicas", setSpecInt("replicas", -1), "spec.replicas"},
		{"too many replicas", setSpecInt("replicas", 101), "spec.replicas"},
		{"ref with ..", setSpec("ref", "main/../../x"), "spec.ref"},
		{"ref as an option", setSpec("ref", "--upload-pack=evil"), "spec.ref"},
		{"ref with a space", setSpec("ref", "main branch"), "spec.ref"},
		{"too long ref", setSpec("ref", strings.Repeat("r", 256)), "spec.ref"},
		{"too short interval", setSpec("syncInterval", "1s"), "spec.syncInterval"},
		{"too long interval", setSpec("syncInterval", "25h"), "spec.syncInterval"},
		{"unknown serviceType", setSpec("serviceType", "ExternalName"), "spec.serviceType"},
		{"secretRef without a name", setSpecMap("secretRef", map[string]any{}), "spec.secretRef.name"},
		{"ingress without a host", setSpecMap("ingress", map[string]any{"tlsSecretName": "tls"}), "spec.ingress.host"},
		{"ingress host with capitals", setSpecMap("ingress", map[string]any{"host": "Site.Example.org"}), "spec.ingress.host"},
		{"name too long for its children", func(o *unstructured.Unstructured) { o.SetName(strings.Repeat("a", 56)) }, "metadata.name"},
		{"name starting with a digit", func(o *unstructured.Unstructured) { o.SetName("1st-site") }, "metadata.name"},
		{"name with a dot", func(o *unstructured.Unstructured) { o.SetName("my.site") }, "metadata.name"},
	}
}

// RejectedByAPIServerOnly are invalid Websites the CRD's schema accepts but
// kubia-apiserver rejects: references to Secrets that cannot exist.
func RejectedByAPIServerOnly() []Invalid {
	return []Invalid{
		{"secretRef naming an impossible Secret", setSpecMap("secretRef", map[string]any{"name": "Not_A_Secret"}), "spec.secretRef.name"},
		{"tlsSecretName naming an impossible Secret", setSpecMap("ingress", map[string]any{"host": "site.example.org", "tlsSecretName": "bad name"}), "spec.ingress.tlsSecretName"},
	}
}

func setSpec(field, value string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { _ = unstructured.SetNestedField(o.Object, value, "spec", field) }
}

func setSpecInt(field string, value int64) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { _ = unstructured.SetNestedField(o.Object, value, "spec", field) }
}

func setSpecMap(field string, value map[string]any) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) { _ = unstructured.SetNestedMap(o.Object, value, "spec", field) }
}

// BookWebsite is the book's kubia-website.yaml, as an object to change.
func BookWebsite() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "extensions.example.com/v1",
		"kind":       "Website",
		"metadata":   map[string]any{"name": "kubia"},
		"spec":       map[string]any{"gitRepo": "https://github.com/luksa/kubia-website-example.git"},
	}}
}
