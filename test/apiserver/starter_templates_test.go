package apiserver_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/templates"
	"github.com/kubia-dev/kubia/test/harness"
)

// kubia-controller-manager applies the starter catalog into its namespace through
// kubia-apiserver; on its next start it takes back the fields a user changed and keeps
// what the user added.
func TestStarterTemplatesAreInstalled(t *testing.T) {
	ns := harness.Namespace(t)
	stop := harness.StartControllers(t, manager.Options{StarterTemplatesNamespace: ns})
	want := starterTemplates(t)
	c := harness.Get(t).Client
	for _, tpl := range want {
		got := &templatev1.Template{}
		harness.Eventually(t, time.Minute, "Template "+tpl.Name+" installed", func(ctx context.Context) error {
			return c.Get(ctx, types.NamespacedName{Namespace: ns, Name: tpl.Name}, got)
		})
		if len(got.Objects) != len(tpl.Objects) || len(got.Parameters) != len(tpl.Parameters) || got.Message != tpl.Message {
			t.Errorf("Template %s installed with %d objects, %d parameters, message %q; the catalog has %d, %d, %q",
				tpl.Name, len(got.Objects), len(got.Parameters), got.Message, len(tpl.Objects), len(tpl.Parameters), tpl.Message)
		}
	}
	stop()

	name := want[0].Name
	edit := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"data"}},"message":"changed by hand"}`))
	if err := c.Patch(t.Context(), &templatev1.Template{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, edit, client.FieldOwner("someone")); err != nil {
		t.Fatal(err)
	}
	harness.StartControllers(t, manager.Options{StarterTemplatesNamespace: ns})
	got := &templatev1.Template{}
	harness.Eventually(t, time.Minute, "the next start restores Template "+name, func(ctx context.Context) error {
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, got); err != nil {
			return err
		}
		if got.Message != want[0].Message {
			return fmt.Errorf("message %q, want the catalog's %q", got.Message, want[0].Message)
		}
		return nil
	})
	if got.Labels["team"] != "data" {
		t.Errorf("labels after the next start %v, want the user's team=data kept", got.Labels)
	}
}

func starterTemplates(t *testing.T) []templatev1.Template {
	t.Helper()
	manifests, err := templates.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]templatev1.Template, len(manifests))
	for i, m := range manifests {
		if err := yaml.Unmarshal(m, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
