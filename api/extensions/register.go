package extensions

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of Websites.
const GroupName = "extensions.example.com"

// SchemeGroupVersion is the internal version, which requests and storage convert through.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}

var (
	// SchemeBuilder registers the internal types.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the internal types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource qualifies a resource name with the group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &Website{}, &WebsiteList{})
	return nil
}

// WebsiteSelectableFields are the fields `--field-selector` accepts for Websites, besides
// metadata.name and metadata.namespace: finding the Websites of a repository or those
// that use a Secret.
var WebsiteSelectableFields = []string{"spec.gitRepo", "spec.secretRef.name", "spec.serviceType"}

// WebsiteFieldSet returns the selectable fields' values of a Website.
func WebsiteFieldSet(w *Website) map[string]string {
	secret := ""
	if w.Spec.SecretRef != nil {
		secret = w.Spec.SecretRef.Name
	}
	return map[string]string{
		"spec.gitRepo":        w.Spec.GitRepo,
		"spec.secretRef.name": secret,
		"spec.serviceType":    w.Spec.ServiceType,
	}
}

// ConvertWebsiteFieldLabel checks a field selector's label for every served version: the
// versions share the internal version's field names.
func ConvertWebsiteFieldLabel(label, value string) (string, string, error) {
	if label == "metadata.name" || label == "metadata.namespace" || slices.Contains(WebsiteSelectableFields, label) {
		return label, value, nil
	}
	return "", "", fmt.Errorf("field label not supported for websites: %s", label)
}
