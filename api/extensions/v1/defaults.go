package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kubia-dev/kubia/api/extensions"
)

// The defaults the CRD's schema declares (its +kubebuilder:default markers), applied in Go
// by kubia-apiserver, which serves the same version without that schema.
const (
	DefaultSyncInterval = time.Minute
	DefaultReplicas     = int32(1)
	DefaultServiceType  = "NodePort"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_WebsiteSpec fills in what the user left out. (The name is defaulter-gen's
// convention.)
func SetDefaults_WebsiteSpec(spec *WebsiteSpec) { //nolint:revive // the generator's naming
	if spec.SyncInterval == nil {
		spec.SyncInterval = &metav1.Duration{Duration: DefaultSyncInterval}
	}
	if spec.Replicas == nil {
		spec.Replicas = ptr.To(DefaultReplicas)
	}
	if spec.ServiceType == "" {
		spec.ServiceType = DefaultServiceType
	}
}

func addFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(GroupVersion.WithKind("Website"), extensions.ConvertWebsiteFieldLabel)
}
