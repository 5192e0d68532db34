package apiserver_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	extv1alpha1 "github.com/kubia-dev/kubia/api/extensions/v1alpha1"
	"github.com/kubia-dev/kubia/test/harness"
)

// baselineGroupVersion is the baseline CRD's (bench_test.go), whose Websites have v1's schema.
var baselineGroupVersion = schema.GroupVersion{Group: baselineGroup, Version: "v1"}

// typedClient reads and writes Websites of gv as their versions' Go types, sending bodies
// as contentType and asking for accept (an Accept header's list).
func typedClient(t testing.TB, cfg *rest.Config, gv schema.GroupVersion, contentType, accept string) *rest.RESTClient {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := extv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := extv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	// The baseline CRD's Websites decode into the same types (its JSON has their schema).
	scheme.AddKnownTypes(baselineGroupVersion, &extv1.Website{}, &extv1.WebsiteList{})
	metav1.AddToGroupVersion(scheme, baselineGroupVersion)
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &gv
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	cfg.ContentType, cfg.AcceptContentTypes = contentType, accept
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends req, decodes its answer into into, and returns the answer's media type.
func do(t *testing.T, req *rest.Request, into runtime.Object) string {
	t.Helper()
	var mediaType string
	if err := req.Do(t.Context()).ContentType(&mediaType).Into(into); err != nil {
		t.Fatalf("%s: %v", req.URL(), err)
	}
	return mediaType
}

// kubia-apiserver speaks protobuf as kube-apiserver's own kinds do, through the aggregator:
// a Website created from a protobuf body keeps every field, a GET and a LIST answered in
// protobuf decode to what JSON returns, and v1alpha1 is served in protobuf too.
func TestProtobuf(t *testing.T) {
	ns := harness.Namespace(t)
	cfg := harness.Get(t).Config
	protobufClient := typedClient(t, cfg, extv1.GroupVersion, runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf)
	jsonClient := typedClient(t, cfg, extv1.GroupVersion, runtime.ContentTypeJSON, runtime.ContentTypeJSON)

	sent := &extv1.Website{
		TypeMeta:   metav1.TypeMeta{APIVersion: extv1.GroupVersion.String(), Kind: "Website"},
		ObjectMeta: metav1.ObjectMeta{Name: "protobuf", Labels: map[string]string{"sent-as": "protobuf"}},
		Spec: extv1.WebsiteSpec{
			GitRepo:   "https://example.org/protobuf.git",
			Ref:       "main",
			SecretRef: &extv1.SecretReference{Name: "credentials"},
			Ingress:   &extv1.WebsiteIngress{Host: "protobuf.example.org", TLSSecretName: "tls"},
		},
	}
	var created extv1.Website
	if mt := do(t, protobufClient.Post().Namespace(ns).Resource("websites").Body(sent), &created); mt != runtime.ContentTypeProtobuf {
		t.Fatalf("create answered in %q, want protobuf", mt)
	}
	want := sent.Spec
	extv1.SetDefaults_WebsiteSpec(&want)
	if diff := cmp.Diff(want, created.Spec); diff != "" || created.Labels["sent-as"] != "protobuf" {
		t.Errorf("created from protobuf: labels %v, spec (-want +got):\n%s", created.Labels, diff)
	}
	// A second one, sent as JSON, so that the LIST has more than one item.
	other := sent.DeepCopy()
	other.Name, other.Labels = "json", nil
	do(t, jsonClient.Post().Namespace(ns).Resource("websites").Body(other), &extv1.Website{})

	t.Run("get", func(t *testing.T) {
		var fromProtobuf, fromJSON extv1.Website
		compareEncodings(t, protobufClient.Get().Namespace(ns).Resource("websites").Name("protobuf"), &fromProtobuf,
			jsonClient.Get().Namespace(ns).Resource("websites").Name("protobuf"), &fromJSON)
		if fromProtobuf.UID != created.UID {
			t.Errorf("GET in protobuf: UID %s, want the created %s", fromProtobuf.UID, created.UID)
		}
	})
	t.Run("list", func(t *testing.T) {
		var fromProtobuf, fromJSON extv1.WebsiteList
		compareEncodings(t, protobufClient.Get().Namespace(ns).Resource("websites"), &fromProtobuf,
			jsonClient.Get().Namespace(ns).Resource("websites"), &fromJSON)
		if len(fromProtobuf.Items) != 2 {
			t.Errorf("LIST in protobuf: %d items, want 2", len(fromProtobuf.Items))
		}
	})
	t.Run("v1alpha1", func(t *testing.T) {
		c := typedClient(t, cfg, extv1alpha1.GroupVersion, runtime.ContentTypeProtobuf, runtime.ContentTypeProtobuf)
		var got extv1alpha1.Website
		if mt := do(t, c.Get().Namespace(ns).Resource("websites").Name("protobuf"), &got); mt != runtime.ContentTypeProtobuf {
			t.Fatalf("v1alpha1 GET answered in %q, want protobuf", mt)
		}
		if got.UID != created.UID || got.Spec.Ingress == nil || got.Spec.Ingress.Host != sent.Spec.Ingress.Host {
			t.Errorf("v1alpha1 GET in protobuf: UID %s, ingress %+v; want UID %s, host %s", got.UID, got.Spec.Ingress, created.UID, sent.Spec.Ingress.Host)
		}
	})
}

// compareEncodings sends the same request for protobuf and for JSON and fails unless each
// is answered in its media type and both decode to the same object.
func compareEncodings(t *testing.T, protobufReq *rest.Request, fromProtobuf runtime.Object, jsonReq *rest.Request, fromJSON runtime.Object) {
	t.Helper()
	if mt := do(t, protobufReq, fromProtobuf); mt != runtime.ContentTypeProtobuf {
		t.Fatalf("answered in %q, want protobuf", mt)
	}
	if mt := do(t, jsonReq, fromJSON); mt != runtime.ContentTypeJSON {
		t.Fatalf("answered in %q, want JSON", mt)
	}
	if diff := cmp.Diff(fromJSON, fromProtobuf); diff != "" {
		t.Errorf("protobuf and JSON answers differ (-json +protobuf):\n%s", diff)
	}
}
