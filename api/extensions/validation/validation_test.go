package validation_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/kubia-dev/kubia/api/extensions"
	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/api/extensions/validation"
	"github.com/kubia-dev/kubia/test/websitecases"
)

// internalWebsite decodes a v1 Website as kubia-apiserver does: defaults, then conversion
// to the internal version.
func internalWebsite(t *testing.T, obj *unstructured.Unstructured) *extensions.Website {
	t.Helper()
	scheme := runtime.NewScheme()
	utilruntime.Must(extensions.AddToScheme(scheme))
	utilruntime.Must(extv1.AddToScheme(scheme))
	var v1w extv1.Website
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &v1w); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	scheme.Default(&v1w)
	var w extensions.Website
	if err := scheme.Convert(&v1w, &w, nil); err != nil {
		t.Fatalf("converting: %v", err)
	}
	w.Namespace = "default"
	return &w
}

func TestValidWebsites(t *testing.T) {
	cases := map[string]func(*unstructured.Unstructured){
		"the book's": func(*unstructured.Unstructured) {},
		"scp-style": func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "git@example.org:site.git", "spec", "gitRepo")
		},
		"ssh://": func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "ssh://git@example.org/site.git", "spec", "gitRepo")
		},
		"a tag ref": func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "release/v1.2", "spec", "ref")
		},
		"55-char name": func(o *unstructured.Unstructured) { o.SetName("a" + strings.Repeat("b", 54)) },
		"every field": func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedMap(o.Object, map[string]any{
				"gitRepo": "https://example.org/site.git", "ref": "main", "syncInterval": "24h", "replicas": int64(100),
				"secretRef": map[string]any{"name": "git-credentials"}, "serviceType": "LoadBalancer",
				"ingress": map[string]any{"host": "site.example.org", "tlsSecretName": "site-tls"},
			}, "spec")
		},
		"no replicas": func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas")
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			obj := websitecases.BookWebsite()
			mutate(obj)
			if errs := validation.ValidateWebsite(internalWebsite(t, obj)); len(errs) > 0 {
				t.Fatalf("rejected: %v", errs.ToAggregate())
			}
		})
	}
}

// The same invalid Websites the CRD rejects (test/websiteapi checks both modes on a real
// API server), plus those only Go validation can catch; each error names the field.
func TestInvalidWebsites(t *testing.T) {
	for _, tc := range append(websitecases.Rejected(), websitecases.RejectedByAPIServerOnly()...) {
		t.Run(tc.Name, func(t *testing.T) {
			obj := websitecases.BookWebsite()
			tc.Mutate(obj)
			errs := validation.ValidateWebsite(internalWebsite(t, obj))
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			for _, err := range errs {
				if err.Field != tc.Field {
					t.Errorf("error %q is about %s, want %s", err, err.Field, tc.Field)
				}
			}
		})
	}
}

// An update is checked like a create, and cannot change what metadata forbids changing.
func TestUpdateIsValidated(t *testing.T) {
	old := internalWebsite(t, websitecases.BookWebsite())
	old.ResourceVersion, old.UID = "1", "uid-1"
	changed := old.DeepCopy()
	changed.Spec.GitRepo = "file:///etc/passwd"
	changed.UID = "uid-2"
	errs := validation.ValidateWebsiteUpdate(changed, old)
	fields := map[string]bool{}
	for _, err := range errs {
		fields[err.Field] = true
	}
	if !fields["spec.gitRepo"] || !fields["metadata.uid"] {
		t.Fatalf("errors %v, want spec.gitRepo and metadata.uid", errs)
	}
}

// The status the controller writes is checked too: conditions as metav1 requires them.
func TestStatusUpdateIsValidated(t *testing.T) {
	old := internalWebsite(t, websitecases.BookWebsite())
	old.ResourceVersion = "1"
	changed := old.DeepCopy()
	changed.Status.NodePort = 70000
	errs := validation.ValidateWebsiteStatusUpdate(changed, old)
	if len(errs) != 1 || errs[0].Field != "status.nodePort" {
		t.Fatalf("errors %v, want one about status.nodePort", errs)
	}
}
