package template

import (
	"context"
	"errors"
	"fmt"
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// namespace is the namespace the flags or the kubeconfig's context select, and whether a
// flag chose it.
func (o *options) namespace() (string, bool, error) {
	return o.config.ToRawKubeConfigLoader().Namespace()
}

// templateClient connects to template.openshift.io/v1 as kubectl would with the same
// flags, speaking JSON with OpenShift's own Go types.
func (o *options) templateClient() (rest.Interface, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := templatev1.Install(scheme); err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &templatev1.GroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	cfg.ContentType = runtime.ContentTypeJSON
	return rest.RESTClientFor(cfg)
}

// getTemplate reads a stored Template, with oc's message when there is none.
func getTemplate(ctx context.Context, c rest.Interface, namespace, name string) (*templatev1.Template, error) {
	tpl := &templatev1.Template{}
	err := c.Get().Namespace(namespace).Resource("templates").Name(name).Do(ctx).Into(tpl)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("template %q could not be found", name)
	case err != nil:
		return nil, err
	}
	return tpl, nil
}

// processOnServer POSTs tpl to the namespace's processedtemplates and returns the processed
// Template; nothing is stored. Errors read as oc shows them: "unable to process template"
// followed by each cause the server gave (for a 422, each parameter at fault), or by the
// server's message when it gave no causes (a 403, say).
func processOnServer(ctx context.Context, c rest.Interface, namespace string, tpl *templatev1.Template) (*templatev1.Template, error) {
	processed := &templatev1.Template{}
	err := c.Post().Namespace(namespace).Resource("processedtemplates").Body(tpl).Do(ctx).Into(processed)
	if err == nil {
		return processed, nil
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) || status.ErrStatus.Details == nil {
		return nil, fmt.Errorf("unable to process template: %w", err)
	}
	lines := []string{"unable to process template"}
	for _, cause := range status.ErrStatus.Details.Causes {
		lines = append(lines, "  "+cause.Message)
	}
	if len(status.ErrStatus.Details.Causes) == 0 {
		lines = append(lines, "  "+err.Error())
	}
	return nil, &wordedError{message: strings.Join(lines, "\n"), err: err}
}

// wordedError is an error as oc words it, keeping the original error for callers
// (apierrors.IsForbidden and the like see through it).
type wordedError struct {
	message string
	err     error
}

func (e *wordedError) Error() string { return e.message }
func (e *wordedError) Unwrap() error { return e.err }
