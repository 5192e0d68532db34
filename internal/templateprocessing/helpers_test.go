package templateprocessing

import (
	"encoding/json"
	"math/rand"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/generator"
	"github.com/openshift/library-go/pkg/template/templateprocessing"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// testSeed seeds every rand of the tests, so that a failure can be replayed.
const testSeed = 1337

// decodeTemplate decodes a Template from JSON as the API server and oc do (objects stay raw JSON).
func decodeTemplate(t testing.TB, templateJSON string) *templatev1.Template {
	t.Helper()
	var tpl templatev1.Template
	if err := json.Unmarshal([]byte(templateJSON), &tpl); err != nil {
		t.Fatalf("decoding the template: %v\n%s", err, templateJSON)
	}
	return &tpl
}

// processJSON decodes and processes a template with a rand seeded with testSeed.
func processJSON(t testing.TB, templateJSON string) (*templatev1.Template, field.ErrorList) {
	t.Helper()
	tpl := decodeTemplate(t, templateJSON)
	return tpl, Process(tpl, rand.New(rand.NewSource(testSeed)))
}

// mustProcess processes a template that must process without error.
func mustProcess(t testing.TB, templateJSON string) *templatev1.Template {
	t.Helper()
	tpl, errs := processJSON(t, templateJSON)
	if len(errs) > 0 {
		t.Fatalf("processing failed: %v\n%s", errs, templateJSON)
	}
	return tpl
}

// generic decodes JSON into plain Go values, so that results compare independently of key order and of
// int64/float64 number types.
func generic(t testing.TB, data []byte) interface{} {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

// objectValue returns processed object i as plain Go values, encoded as the API server encodes it.
func objectValue(t testing.TB, tpl *templatev1.Template, i int) interface{} {
	t.Helper()
	data, err := json.Marshal(tpl.Objects[i])
	if err != nil {
		t.Fatalf("encoding object %d: %v", i, err)
	}
	return generic(t, data)
}

// errorStrings returns the errors' messages, which carry the path, type, value and detail.
func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

// libraryOutcomes processes the template with library-go alone, as openshift-apiserver does, runs times, and counts
// each distinct result (the processed objects and labels as JSON, or "panic"). It shows what OpenShift itself does
// with an input, including when that depends on chance.
func libraryOutcomes(t testing.TB, templateJSON string, runs int) map[string]int {
	t.Helper()
	outcomes := map[string]int{}
	for range runs {
		outcomes[libraryOutcome(t, templateJSON)]++
	}
	return outcomes
}

func libraryOutcome(t testing.TB, templateJSON string) (outcome string) {
	tpl := decodeTemplate(t, templateJSON)
	processor := templateprocessing.NewProcessor(map[string]generator.Generator{
		ExpressionGenerator: generator.NewExpressionValueGenerator(rand.New(rand.NewSource(testSeed))),
	})
	defer func() {
		if recover() != nil {
			outcome = "panic"
		}
	}()
	errs := processor.Process(tpl)
	data, err := json.Marshal(struct {
		Objects interface{}
		Labels  interface{}
		Errors  []string
	}{tpl.Objects, tpl.ObjectLabels, errorStrings(errs)})
	if err != nil {
		t.Fatalf("encoding library-go's result: %v", err)
	}
	return string(data)
}
