package template

import (
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"
)

// Every field of the served kinds survives JSON and protobuf and the internal version,
// which is v1 itself: OpenShift's generated protobuf code is what the server uses.
func TestRoundTrip(t *testing.T) {
	roundtrip.RoundTripProtobufTestForAPIGroup(t, Install, fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, asDecoded))
}

// asDecoded fills Templates as decoding leaves them: a Template's objects come with their
// JSON also as a runtime.Unknown (OpenShift's DecodeNestedObjects), which the Templates of
// a list and a TemplateInstance's do not get; empty lists come back as none.
func asDecoded(runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(t *templatev1.Template, c randfill.Continue) {
			c.Fill(&t.ObjectMeta)
			c.Fill(&t.Message)
			c.Fill(&t.Objects)
			c.Fill(&t.Parameters)
			c.Fill(&t.ObjectLabels)
			if len(t.Parameters) == 0 {
				t.Parameters = nil
			}
			for i := range t.Objects {
				t.Objects[i].Object = &runtime.Unknown{ContentType: runtime.ContentTypeJSON, Raw: t.Objects[i].Raw}
			}
		},
		func(l *templatev1.TemplateList, c randfill.Continue) {
			c.Fill(&l.ListMeta)
			c.Fill(&l.Items)
			for i := range l.Items {
				withoutDecodedObjects(&l.Items[i])
			}
		},
		func(ti *templatev1.TemplateInstance, c randfill.Continue) {
			c.Fill(&ti.ObjectMeta)
			c.Fill(&ti.Spec)
			c.Fill(&ti.Status)
			withoutDecodedObjects(&ti.Spec.Template)
		},
	}
}

func withoutDecodedObjects(t *templatev1.Template) {
	for i := range t.Objects {
		t.Objects[i].Object = nil
	}
}
