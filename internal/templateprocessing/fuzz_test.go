package templateprocessing

import (
	"encoding/json"
	"math/rand"
	"regexp"
	"strconv"
	"strings"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/generator"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxFuzzInput bounds the fuzzed JSON, so that each run stays fast.
const maxFuzzInput = 16 << 10

// FuzzProcess processes fuzzed templates with fuzzed parameter values ("NAME=VALUE" lines, given as with oc -p).
// Properties: Process never panics nor hits a panic it did not foresee (an internal error); the same input and seed
// give the same result; and a template processed without error has every object as an encodable Unstructured.
func FuzzProcess(f *testing.F) {
	f.Add(withObjects(values("A", "x"), `{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"namespace": "n"}, "data": {"${A}": "${A}-${B}"}}`), "B=5", int64(1))
	f.Add(withObjects(`[{"name": "N"}]`, `{"kind": "ConfigMap", "apiVersion": "v1", "l": ["${{N}}", {"${{N}}": 1}]}`), "N=null", int64(2))
	f.Add(withObjects(`[{"name": "N"}]`, `{"kind": "ConfigMap", "apiVersion": "v1", "l": ["${{N}}"], "m": {"${{N}}": "${{N}}"}}`), "N={\"a\":[1,null]}", int64(3))
	f.Add(withObjects(`[{"name": "K", "value": "k"}, {"name": "N"}]`, `{"kind": "ConfigMap", "apiVersion": "v1", "d": {"${K}": "${{N}}", "k": "v"}}`), "N=null", int64(4))
	f.Add(`{"labels": {"${A}": "${B}", "x": "y"}, "objects": [{"kind": "Route", "apiVersion": "v1"}],
		"parameters": [{"name": "A"}, {"name": "B"}]}`, "A=x\nB=${A}", int64(5))
	f.Add(`{"message": "${P}", "parameters": [{"name": "P", "generate": "expression", "from": "[\\w\\A]{12}x[a-a]{2}"}]}`, "", int64(6))
	f.Add(`{"objects": [null, {"kind": "List", "apiVersion": "v1", "items": [{"kind": "Service", "apiVersion": "v1"}]}]}`, "", int64(7))
	f.Add(withObjects(`[{"name": "P", "required": true}, {"name": "bad-name"}]`, `{"kind": "Secret", "apiVersion": "v1"}`), "P=", int64(8))
	f.Fuzz(func(t *testing.T, templateJSON, paramValues string, seed int64) {
		if len(templateJSON)+len(paramValues) > maxFuzzInput {
			return
		}
		first, ok := fuzzTemplate(templateJSON, paramValues)
		if !ok {
			return
		}
		second, _ := fuzzTemplate(templateJSON, paramValues)

		firstErrs := Process(first, rand.New(rand.NewSource(seed)))
		secondErrs := Process(second, rand.New(rand.NewSource(seed)))

		for _, err := range firstErrs {
			if err.Type == field.ErrorTypeInternal {
				t.Fatalf("an unforeseen panic: %v", err)
			}
		}
		firstResult, secondResult := fuzzResult(t, first, firstErrs), fuzzResult(t, second, secondErrs)
		if firstResult != secondResult {
			t.Fatalf("the same input gave two results:\n%s\n%s", firstResult, secondResult)
		}
		if len(firstErrs) == 0 {
			assertEncodableUnstructured(t, first)
		}
	})
}

// fuzzTemplate decodes a fuzzed template and gives it the fuzzed values, or reports that the input is no template.
func fuzzTemplate(templateJSON, paramValues string) (*templatev1.Template, bool) {
	var tpl templatev1.Template
	if err := json.Unmarshal([]byte(templateJSON), &tpl); err != nil {
		return nil, false
	}
	var params []Param
	for _, line := range strings.Split(paramValues, "\n") {
		if name, value, found := strings.Cut(line, "="); found {
			params = append(params, Param{Name: name, Value: value})
		}
	}
	// A name given twice is an error that sets nothing; the template is then processed with its own values.
	_ = SetParameters(&tpl, params, true)
	return &tpl, true
}

// fuzzResult encodes everything a processing run produced: the template and the errors.
func fuzzResult(t *testing.T, tpl *templatev1.Template, errs field.ErrorList) string {
	data, err := json.Marshal(struct {
		Template *templatev1.Template
		Errors   []string
	}{tpl, errorStrings(errs)})
	if err != nil {
		t.Fatalf("encoding the result: %v", err)
	}
	return string(data)
}

func assertEncodableUnstructured(t *testing.T, tpl *templatev1.Template) {
	for i, obj := range tpl.Objects {
		switch obj.Object.(type) {
		case *unstructured.Unstructured, *unstructured.UnstructuredList:
		default:
			t.Fatalf("object %d is %T after processing, want Unstructured", i, obj.Object)
		}
		if obj.Raw != nil {
			t.Fatalf("object %d keeps raw JSON after processing", i)
		}
	}
	data, err := json.Marshal(tpl)
	if err != nil {
		t.Fatalf("the processed template does not encode: %v", err)
	}
	var decoded templatev1.Template
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("the processed template does not decode again: %v\n%s", err, data)
	}
}

// generatorRegexp is library-go's generatorsExp, copied as the test's oracle for where the generators are.
var generatorRegexp = regexp.MustCompile(`\[([a-zA-Z0-9\-\\]+)\](\{([0-9]+)\})`)

// generatorErrorPrefixes are the beginnings of every error a `from` expression can give.
var generatorErrorPrefixes = []string{
	"malformed expresion syntax: ",
	"range must be within [1-255] characters (",
	"invalid range specified: ",
	"no characters to choose from in ",
}

// zeroSource makes math/rand return 0 from every draw, so the generator always takes a class's first character,
// which is never "[" (the first character of \A is "~").
type zeroSource struct{}

func (zeroSource) Int63() int64 { return 0 }
func (zeroSource) Seed(int64)   {}

// FuzzExpression generates values from fuzzed `from` expressions. Properties: no panic; only the known errors; the
// same seed gives the same value; and without an error the value's length is the literal text's plus the counts.
//
// The length holds only when the generated characters cannot form a new generator with the text around them:
// library-go scans the expression again after each replacement, so a generated "[" followed by "\w]{3}" expands
// once more. That needs a "[", which only \A draws, so the length is checked when there is no "[" outside the
// generators and either no \A or a source that always draws a class's first character.
func FuzzExpression(f *testing.F) {
	for _, from := range []string{
		"test[A-Z0-9]{4}template", `[\d]{3}`, `[\w]{20}`, `[\a]{10}`, `[\A]{10}`, `strongPassword[\w]{3}[\A]{3}`,
		"admin[0-9]{2}test[A-Z]{2}", "[ABC]{3}", "[Z-A]{3}", "[A-Z]{300}", "[A-Z]{0}", "[a-a]{3}", `[\da-f]{4}`,
		"[ac-e]{5}", `x[\A]{2}w]{3}`, "[[\\d]{1}-9]{2}", "[a-z]{99999999999999999999}", "",
	} {
		f.Add(from, int64(1337))
	}
	f.Fuzz(func(t *testing.T, from string, seed int64) {
		if len(from) > maxFuzzInput {
			return
		}
		value, err := newTestGenerator(seed).GenerateValue(from)
		again, againErr := newTestGenerator(seed).GenerateValue(from)
		if value != again || errorText(err) != errorText(againErr) {
			t.Fatalf("seed %d gave %q (%v) and %q (%v)", seed, value, err, again, againErr)
		}
		if err != nil {
			assertKnownGeneratorError(t, err)
			return
		}
		literal, counts := splitGenerators(from)
		if strings.Contains(literal, "[") {
			return
		}
		if !strings.Contains(from, `\A`) {
			assertLength(t, from, value.(string), len(literal)+counts)
		}
		firstChar := safeGenerator{generator.NewExpressionValueGenerator(rand.New(zeroSource{}))}
		if value, err := firstChar.GenerateValue(from); err == nil {
			assertLength(t, from, value.(string), len(literal)+counts)
		}
	})
}

func assertKnownGeneratorError(t *testing.T, err error) {
	for _, prefix := range generatorErrorPrefixes {
		if strings.HasPrefix(err.Error(), prefix) {
			return
		}
	}
	t.Fatalf("an unknown error: %v", err)
}

// splitGenerators returns the expression's text outside the generators and the sum of the generators' counts.
func splitGenerators(from string) (literal string, counts int) {
	for _, match := range generatorRegexp.FindAllStringSubmatch(from, -1) {
		count, _ := strconv.Atoi(match[3]) // 1 to 255 when the generator gave no error
		counts += count
	}
	return generatorRegexp.ReplaceAllLiteralString(from, ""), counts
}

func assertLength(t *testing.T, from, value string, want int) {
	if len(value) != want {
		t.Fatalf("generated %q (%d characters) from %q, want %d characters", value, len(value), from, want)
	}
}
