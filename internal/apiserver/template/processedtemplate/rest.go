// Package processedtemplate serves processedtemplates, what `oc process` calls: a POSTed
// Template comes back processed (parameters generated and substituted into its objects),
// and nothing is stored.
package processedtemplate

import (
	"context"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

// REST processes Templates.
type REST struct{}

var (
	_ rest.Creater              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the processedtemplates resource.
func NewREST() *REST { return &REST{} }

// New returns what a client POSTs: a Template.
func (*REST) New() runtime.Object { return &templatev1.Template{} }

// Destroy does nothing: nothing is stored.
func (*REST) Destroy() {}

func (*REST) NamespaceScoped() bool { return true }

func (*REST) GetSingularName() string { return "processedtemplate" }

// Create validates the Template's parameter names and processes it, as openshift-apiserver does:
// invalid parameters and failed generation answer 422 with every error. Like OpenShift it
// runs no validating admission, since nothing is stored (a Template processed for a
// namespace that does not exist yet is processed all the same).
func (*REST) Create(_ context.Context, obj runtime.Object, _ rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	tpl, ok := obj.(*templatev1.Template)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Template: %T", obj))
	}
	// Process checks the parameter names first, as openshift-apiserver's endpoint does; nil:
	// a source per request, seeded from the clock, so generated values differ between
	// requests.
	if errs := templateprocessing.Process(tpl, nil); len(errs) > 0 {
		return nil, apierrors.NewInvalid(templateKind, tpl.Name, errs)
	}
	// The processed objects are Unstructured values; the Template's EncodeNestedObjects
	// (OpenShift's) turns them into JSON when the answer is encoded, also in protobuf,
	// whose RawExtension carries bytes only.
	return tpl, nil
}

// templateKind names what an invalid request sent, in its errors.
var templateKind = templatev1.GroupVersion.WithKind("Template").GroupKind()
