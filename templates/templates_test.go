package templates_test

import (
	"encoding/json"
	"strings"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
	"github.com/kubia-dev/kubia/templates"
)

// Every starter template decodes as OpenShift's Template and processes with its
// defaults, every parameter used and every object given a name.
func TestStarterTemplatesProcess(t *testing.T) {
	manifests, err := templates.Manifests()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifests) < 4 {
		t.Fatalf("%d starter templates, want at least 4", len(manifests))
	}
	for _, m := range manifests {
		tpl := &templatev1.Template{}
		if err := yaml.UnmarshalStrict(m, tpl); err != nil {
			t.Fatalf("decoding a starter template: %v", err)
		}
		t.Run(tpl.Name, func(t *testing.T) {
			for i, p := range tpl.Parameters {
				if p.Required && p.Value == "" && p.Generate == "" {
					tpl.Parameters[i].Value = "https://example.invalid/repo.git"
				}
			}
			if errs := templateprocessing.Process(tpl, nil); len(errs) > 0 {
				t.Fatalf("processing: %v", errs.ToAggregate())
			}
			for _, item := range templateprocessing.ToList(tpl).Items {
				raw, err := json.Marshal(item.Object)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(raw), "${") {
					t.Errorf("unsubstituted parameter left in %s", raw)
				}
			}
		})
	}
}
