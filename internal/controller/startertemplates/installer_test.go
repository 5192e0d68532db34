package startertemplates

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubia-dev/kubia/templates"
)

// appliedTemplate is what one Apply call carried.
type appliedTemplate struct{ namespace, name, owner string }

func TestInstallerRetriesUntilServedThenAppliesEveryTemplate(t *testing.T) {
	manifests, err := templates.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	unavailable := 3
	var applied []appliedTemplate
	c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Apply: func(_ context.Context, _ client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if unavailable > 0 {
				unavailable--
				return apierrors.NewServiceUnavailable("the server is currently unable to handle the request")
			}
			u := obj.(interface {
				GetNamespace() string
				GetName() string
			})
			applyOpts := &client.ApplyOptions{}
			applyOpts.ApplyOptions(opts)
			if applyOpts.Force == nil || !*applyOpts.Force {
				t.Errorf("Template %s applied without forcing ownership", u.GetName())
			}
			applied = append(applied, appliedTemplate{u.GetNamespace(), u.GetName(), applyOpts.FieldManager})
			return nil
		},
	}).Build()
	i := &Installer{Client: c, Namespace: "openshift", Manifests: templates.Manifests, Log: testr.New(t), MaxRetryInterval: time.Millisecond}
	if err := i.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if len(applied) != len(manifests) {
		t.Fatalf("applied %d templates, want the %d of the catalog: %v", len(applied), len(manifests), applied)
	}
	for _, a := range applied {
		if a.namespace != "openshift" || a.owner != FieldOwner || a.name == "" {
			t.Errorf("applied %+v, want a named Template of namespace openshift owned by %s", a, FieldOwner)
		}
	}
}

func TestInstallerStopsQuietlyWithItsContext(t *testing.T) {
	c := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Apply: func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
			return apierrors.NewNotFound(schema.GroupResource{Group: "template.openshift.io", Resource: "templates"}, "")
		},
	}).Build()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	i := &Installer{Client: c, Namespace: "openshift", Manifests: templates.Manifests, Log: testr.New(t), MaxRetryInterval: time.Millisecond}
	if err := i.Start(ctx); err != nil {
		t.Errorf("Start after its context ended: %v, want nil (the next start tries again)", err)
	}
}

func TestInstallerRejectsAManifestThatIsNoTemplate(t *testing.T) {
	for name, manifest := range map[string]string{
		"a ConfigMap":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"an unnamed one":    "apiVersion: template.openshift.io/v1\nkind: Template\nobjects: []\n",
		"not even YAML map": "- 1\n- 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			i := &Installer{Client: fake.NewClientBuilder().Build(), Namespace: "openshift", Log: testr.New(t),
				Manifests: func() ([][]byte, error) { return [][]byte{[]byte(manifest)}, nil }}
			if err := i.Start(t.Context()); err == nil {
				t.Error("Start installed it")
			}
		})
	}
	i := &Installer{Client: fake.NewClientBuilder().Build(), Namespace: "openshift", Log: testr.New(t),
		Manifests: func() ([][]byte, error) { return nil, errors.New("unreadable") }}
	if err := i.Start(t.Context()); err == nil {
		t.Error("Start ignored an unreadable catalog")
	}
}
