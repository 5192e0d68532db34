package extensions

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	extapi "github.com/kubia-dev/kubia/api/extensions"
)

// Every field survives v1 → internal → v1alpha1 and back (random objects, JSON, protobuf
// and the scheme's conversions), so no version or encoding loses what another stores: a
// field whose generated protobuf code is missing or stale fails here.
func TestRoundTrip(t *testing.T) {
	roundtrip.RoundTripProtobufTestForAPIGroup(t, Install, fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, defaultedFields))
}

// defaultedFields fills the fields decoding defaults, as a stored object has them: a
// random nil would come back defaulted.
func defaultedFields(runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(spec *extapi.WebsiteSpec, c randfill.Continue) {
			c.FillNoCustom(spec)
			if spec.SyncInterval == nil {
				spec.SyncInterval = &metav1.Duration{Duration: time.Duration(c.Int63())}
			}
			if spec.Replicas == nil {
				r := c.Int31()
				spec.Replicas = &r
			}
			if spec.ServiceType == "" {
				spec.ServiceType = "ClusterIP"
			}
		},
	}
}
