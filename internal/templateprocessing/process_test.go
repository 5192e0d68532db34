package templateprocessing

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/generator"
	"github.com/openshift/library-go/pkg/template/templateprocessing"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// values returns the JSON of parameters with the given names and values, in order.
func values(namesAndValues ...string) string {
	var params []templatev1.Parameter
	for i := 0; i+1 < len(namesAndValues); i += 2 {
		params = append(params, templatev1.Parameter{Name: namesAndValues[i], Value: namesAndValues[i+1]})
	}
	data, err := json.Marshal(params)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// withObjects returns the JSON of a template with these parameters (JSON) and objects (JSON, comma-separated).
func withObjects(params, objects string) string {
	return fmt.Sprintf(`{"kind":"Template","apiVersion":"template.openshift.io/v1","metadata":{"name":"t"},
		"parameters":%s,"objects":[%s]}`, params, objects)
}

func TestValidateParameters(t *testing.T) {
	cases := map[string]struct {
		names []string
		want  []string
	}{
		"letters, digits and underscores":                                    {names: []string{"DB_USER", "a1", "_", "123"}},
		"two parameters of one name are accepted, as OpenShift accepts them": {names: []string{"A", "A"}},
		"an empty name is required": {
			names: []string{"A", ""},
			want:  []string{"parameters[1].name: Required value"},
		},
		"a dash, a space, a dot or a non-ASCII letter does not match": {
			names: []string{"my-param", "MY PARAM", "a.b", "é"},
			want: []string{
				`parameters[0].name: Invalid value: "my-param": does not match ^[a-zA-Z0-9_]+$`,
				`parameters[1].name: Invalid value: "MY PARAM": does not match ^[a-zA-Z0-9_]+$`,
				`parameters[2].name: Invalid value: "a.b": does not match ^[a-zA-Z0-9_]+$`,
				`parameters[3].name: Invalid value: "é": does not match ^[a-zA-Z0-9_]+$`,
			},
		},
		"${NAME} syntax is not a name": {
			names: []string{"${A}"},
			want:  []string{`parameters[0].name: Invalid value: "${A}": does not match ^[a-zA-Z0-9_]+$`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var params []templatev1.Parameter
			for _, n := range tc.names {
				params = append(params, templatev1.Parameter{Name: n})
			}
			got := errorStrings(ValidateParameters(params, field.NewPath("parameters")))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateParametersUsesThePathGiven(t *testing.T) {
	errs := ValidateParameters([]templatev1.Parameter{{}}, field.NewPath("spec", "template", "parameters"))
	if got, want := errorStrings(errs), []string{"spec.template.parameters[0].name: Required value"}; !cmp.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

// TestSubstitution covers `${NAME}` and `${{NAME}}` in object values and keys.
func TestSubstitution(t *testing.T) {
	cases := map[string]struct {
		params string
		object string // the object's "data"
		want   string
	}{
		"a whole string": {
			params: values("A", "x"), object: `{"k": "${A}"}`, want: `{"k": "x"}`,
		},
		"inside a string, several times and with several names": {
			params: values("A", "x", "B", "y"),
			object: `{"k": "pre-${A}-${B}-${A}-post"}`, want: `{"k": "pre-x-y-x-post"}`,
		},
		"an unknown name is left as it is": {
			params: values("A", "x"), object: `{"k": "${NOPE}-${A}"}`, want: `{"k": "${NOPE}-x"}`,
		},
		"a name outside [a-zA-Z0-9_] is not a reference": {
			params: values("A", "x"), object: `{"k": "${A-B} ${ A } ${}"}`, want: `{"k": "${A-B} ${ A } ${}"}`,
		},
		"no escape syntax: $${A} keeps the first dollar": {
			params: values("A", "x"), object: `{"k": "$${A}"}`, want: `{"k": "$x"}`,
		},
		"not recursive: a value containing a reference stays as it is": {
			params: values("A", "${B}", "B", "y"), object: `{"k": "${A}"}`, want: `{"k": "${B}"}`,
		},
		"but a later reference replaces the first match in the partly substituted string": {
			params: values("A", "${B}", "B", "y"), object: `{"k": "${A}-${B}"}`, want: `{"k": "y-${B}"}`,
		},
		"lists, nested maps and lists of lists": {
			params: values("A", "x"),
			object: `{"l": ["${A}", {"m": ["${A}"]}], "ll": [["${A}"]]}`,
			want:   `{"l": ["x", {"m": ["x"]}], "ll": [["x"]]}`,
		},
		"numbers, booleans and null are left alone": {
			params: values("A", "x"), object: `{"n": 5, "b": true, "z": null}`, want: `{"n": 5, "b": true, "z": null}`,
		},
		"an empty value": {
			params: values("A", ""), object: `{"k": "[${A}]"}`, want: `{"k": "[]"}`,
		},
		"${{A}} with a number": {
			params: values("A", "5"), object: `{"k": "${{A}}"}`, want: `{"k": 5}`,
		},
		"${{A}} numbers are float64: 1.50 becomes 1.5": {
			params: values("A", "1.50"), object: `{"k": "${{A}}"}`, want: `{"k": 1.5}`,
		},
		"${{A}} with a boolean": {
			params: values("A", "false"), object: `{"k": "${{A}}"}`, want: `{"k": false}`,
		},
		"${{A}} with an object": {
			params: values("A", `{"cpu": "1", "n": [1]}`), object: `{"k": "${{A}}"}`, want: `{"k": {"cpu": "1", "n": [1]}}`,
		},
		"${{A}} with a list, also as a list element": {
			params: values("A", `["a", 1]`), object: `{"k": "${{A}}", "l": ["${{A}}"]}`,
			want: `{"k": ["a", 1], "l": [["a", 1]]}`,
		},
		"${{A}} with a JSON string loses the quotes": {
			params: values("A", `"quoted"`), object: `{"k": "${{A}}"}`, want: `{"k": "quoted"}`,
		},
		"${{A}} falls back to the plain value when it is not JSON: 007": {
			params: values("A", "007"), object: `{"k": "${{A}}"}`, want: `{"k": "007"}`,
		},
		"${{A}} falls back to the plain value when it is not JSON: a word": {
			params: values("A", "abc"), object: `{"k": "${{A}}"}`, want: `{"k": "abc"}`,
		},
		"${{A}} falls back to the plain value when it is not JSON: a broken object": {
			params: values("A", `{"k":`), object: `{"k": "${{A}}"}`, want: `{"k": "{\"k\":"}`,
		},
		"${{A}} with an empty value falls back to the empty string": {
			params: values("A", ""), object: `{"k": "${{A}}"}`, want: `{"k": ""}`,
		},
		"${{A}} with null deletes the key": {
			params: values("A", "null"), object: `{"k": "${{A}}", "other": "x"}`, want: `{"other": "x"}`,
		},
		"${{A}} only as the whole string: a prefix, a suffix or spaces leave it verbatim": {
			params: values("A", "5"),
			object: `{"a": "a${{A}}", "b": "${{A}}b", "c": "${{ A }}", "d": " ${{A}}"}`,
			want:   `{"a": "a${{A}}", "b": "${{A}}b", "c": "${{ A }}", "d": " ${{A}}"}`,
		},
		"${{UNKNOWN}} is left verbatim": {
			params: values("A", "5"), object: `{"k": "${{UNKNOWN}}"}`, want: `{"k": "${{UNKNOWN}}"}`,
		},
		"${{A}}${{B}} is not a whole-string typed reference": {
			params: values("A", "1", "B", "2"), object: `{"k": "${{A}}${{B}}"}`, want: `{"k": "${{A}}${{B}}"}`,
		},
		"map keys are substituted like values": {
			params: values("K", "app.kubernetes.io/name", "F", "config.yaml"),
			object: `{"labels": {"${K}": "v"}, "files": {"${F}": "x", "pre-${F}": "y"}}`,
			want:   `{"labels": {"app.kubernetes.io/name": "v"}, "files": {"config.yaml": "x", "pre-config.yaml": "y"}}`,
		},
		"a ${{K}} key with a JSON string loses the quotes, with other text is kept raw": {
			params: values("S", `"k"`, "W", "word"),
			object: `{"m": {"${{S}}": 1, "${{W}}": 2}}`,
			want:   `{"m": {"k": 1, "word": 2}}`,
		},
		"a key that collides with a literal key, the same in every order: the substituted key wins": {
			params: values("K", "k"), object: `{"m": {"${K}": "new", "k": "old"}}`, want: `{"m": {"k": "new"}}`,
		},
		"two keys that collide with the same value": {
			params: values("A", "k", "B", "k"), object: `{"m": {"${A}": "v", "${B}": "v"}}`, want: `{"m": {"k": "v"}}`,
		},
		"a substituted key with a null value that collides with nothing is deleted like any other": {
			params: values("N", "null", "K", "k"), object: `{"m": {"${K}": "${{N}}", "x": "${{N}}"}}`, want: `{"m": {}}`,
		},
		"a parameter defined twice: the last one's value is used": {
			params: values("A", "first", "A", "last"), object: `{"k": "${A}"}`, want: `{"k": "last"}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			templateJSON := withObjects(tc.params, `{"kind": "ConfigMap", "apiVersion": "v1", "data": `+tc.object+`}`)
			tpl := mustProcess(t, templateJSON)
			got := objectValue(t, tpl, 0).(map[string]interface{})["data"]
			if diff := cmp.Diff(generic(t, []byte(tc.want)), got); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			assertSameAsOpenShift(t, templateJSON, tpl)
		})
	}
}

// assertSameAsOpenShift checks that library-go alone, run several times, always gives the result Process gave.
func assertSameAsOpenShift(t *testing.T, templateJSON string, processed *templatev1.Template) {
	t.Helper()
	outcomes := libraryOutcomes(t, templateJSON, 20)
	want := libraryOutcomeOf(t, processed)
	if len(outcomes) != 1 || outcomes[want] == 0 {
		t.Errorf("library-go alone gave %v, Process gave %s", outcomes, want)
	}
}

// libraryOutcomeOf encodes a processed template as libraryOutcome does.
func libraryOutcomeOf(t *testing.T, tpl *templatev1.Template) string {
	t.Helper()
	data, err := json.Marshal(struct {
		Objects interface{}
		Labels  interface{}
		Errors  []string
	}{tpl.Objects, tpl.ObjectLabels, nil})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestBigIntegersLosePrecisionAsInOpenShift(t *testing.T) {
	tpl := mustProcess(t, withObjects(values("N", "12345678901234567891"),
		`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"n": "${{N}}"}}`))
	data, err := json.Marshal(tpl.Objects[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"n":12345678901234567000`) {
		t.Errorf("object = %s, want the float64 12345678901234567000", data)
	}
}

// TestMessageAndLabelsSubstitution: the message and the labels are substituted as strings; a whole-string ${{X}}
// there gives X's raw value, never parsed JSON.
func TestMessageAndLabelsSubstitution(t *testing.T) {
	tpl := mustProcess(t, `{
		"message": "user ${USER}, password ${PASSWORD}, inside ${{N}}, unknown ${NOPE}",
		"labels": {"${KEY}": "${{N}}", "app": "${USER}"},
		"parameters": [
			{"name": "USER", "value": "admin"},
			{"name": "PASSWORD", "generate": "expression", "from": "[a-z]{8}"},
			{"name": "N", "value": "5"},
			{"name": "KEY", "value": "tier"}
		]}`)
	password := tpl.Parameters[1].Value
	if len(password) != 8 {
		t.Fatalf("generated password %q, want 8 characters", password)
	}
	if want := "user admin, password " + password + ", inside ${{N}}, unknown ${NOPE}"; tpl.Message != want {
		t.Errorf("message = %q, want %q (the generated value shows in the message)", tpl.Message, want)
	}
	if diff := cmp.Diff(map[string]string{"tier": "5", "app": "admin"}, tpl.ObjectLabels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	whole := mustProcess(t, `{"message": "${{N}}", "parameters": [{"name": "N", "value": "{\"a\": 1}"}]}`)
	if want := `{"a": 1}`; whole.Message != want {
		t.Errorf("message = %q, want the raw value %q", whole.Message, want)
	}
}

// TestStepOrder covers the order of OpenShift's steps: name validation, generation (whose errors stop everything),
// the required check, the message, the labels, then each object: namespace stripping, substitution,
// groupification, labels.
func TestStepOrder(t *testing.T) {
	t.Run("name validation comes first and stops everything", func(t *testing.T) {
		tpl, errs := processJSON(t, `{"message": "${A}", "parameters": [
			{"name": "bad-name", "generate": "nope"}, {"name": "A", "value": "x"}]}`)
		want := []string{`parameters[0].name: Invalid value: "bad-name": does not match ^[a-zA-Z0-9_]+$`}
		if diff := cmp.Diff(want, errorStrings(errs)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if tpl.Message != "${A}" {
			t.Errorf("message = %q, want it unprocessed", tpl.Message)
		}
	})
	t.Run("generation errors are all reported and stop the rest", func(t *testing.T) {
		templateJSON := withObjects(`[
			{"name": "A", "generate": "random"},
			{"name": "B", "value": "b"},
			{"name": "C", "required": true},
			{"name": "D", "generate": "expression", "from": "[a-z]{3}"}]`,
			`{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"namespace": "hard"}, "data": {"b": "${B}"}}`)
		tpl, errs := processJSON(t, strings.Replace(templateJSON, `"parameters"`, `"message": "${B}", "parameters"`, 1))
		want := []string{
			`template.parameters[0]: Invalid value: "random": Unknown generator name 'random' for parameter A`,
			`template.parameters[2]: Required value: template.parameters[2]: parameter C is required and must be specified`,
		}
		if diff := cmp.Diff(want, errorStrings(errs)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if tpl.Message != "${B}" || len(tpl.Objects[0].Raw) == 0 {
			t.Errorf("message %q and object %v were processed after a generation error", tpl.Message, tpl.Objects[0])
		}
		if len(tpl.Parameters[3].Value) != 3 {
			t.Errorf("D = %q: every parameter is generated before the errors are returned", tpl.Parameters[3].Value)
		}
	})
	t.Run("the required check comes after generation", func(t *testing.T) {
		tpl := mustProcess(t, `{"parameters": [{"name": "P", "required": true, "generate": "expression", "from": "[0-9]{4}"}]}`)
		if len(tpl.Parameters[0].Value) != 4 {
			t.Errorf("P = %q, want a generated value", tpl.Parameters[0].Value)
		}
	})
	t.Run("labels are substituted before the objects get them, kinds after substitution", func(t *testing.T) {
		tpl := mustProcess(t, strings.Replace(withObjects(values("K", "tier", "V", "db", "KIND", "Route"),
			`{"kind": "${KIND}", "apiVersion": "v1", "metadata": {"name": "r", "namespace": "hard"}}`),
			`"parameters"`, `"labels": {"${K}": "${V}"}, "parameters"`, 1))
		want := `{"kind": "Route", "apiVersion": "route.openshift.io/v1", "metadata": {"name": "r", "labels": {"tier": "db"}}}`
		if diff := cmp.Diff(generic(t, []byte(want)), objectValue(t, tpl, 0)); diff != "" {
			t.Errorf("object (-want +got):\n%s", diff)
		}
	})
}

func TestNamespaceStripping(t *testing.T) {
	cases := map[string]struct {
		object string
		want   string
	}{
		"a hard-coded namespace is removed": {
			object: `{"metadata": {"name": "n", "namespace": "prod"}}`,
			want:   `{"metadata": {"name": "n"}}`,
		},
		"a ${NS} namespace is kept and substituted": {
			object: `{"metadata": {"namespace": "${NS}"}}`,
			want:   `{"metadata": {"namespace": "team"}}`,
		},
		"a namespace with a reference among other text is kept": {
			object: `{"metadata": {"namespace": "team-${NS}"}}`,
			want:   `{"metadata": {"namespace": "team-team"}}`,
		},
		"a ${{NS}} namespace is not a ${NAME} reference, so it is removed": {
			object: `{"metadata": {"namespace": "${{NS}}"}}`,
			want:   `{"metadata": {}}`,
		},
		"an unknown ${NAME} keeps the namespace verbatim": {
			object: `{"metadata": {"namespace": "${UNKNOWN}"}}`,
			want:   `{"metadata": {"namespace": "${UNKNOWN}"}}`,
		},
		"other namespace fields are ordinary strings": {
			object: `{"metadata": {}, "spec": {"from": {"namespace": "openshift"}}}`,
			want:   `{"metadata": {}, "spec": {"from": {"namespace": "openshift"}}}`,
		},
		"an empty namespace stays empty": {
			object: `{"metadata": {"namespace": ""}}`,
			want:   `{"metadata": {"namespace": ""}}`,
		},
		"a namespace that is not a string becomes the empty string": {
			object: `{"metadata": {"namespace": 5}}`,
			want:   `{"metadata": {"namespace": ""}}`,
		},
		"with no metadata, a top-level namespace becomes the empty string": {
			object: `{"namespace": "prod"}`,
			want:   `{"namespace": ""}`,
		},
		"with metadata, a top-level namespace is an ordinary field": {
			object: `{"metadata": {}, "namespace": "prod"}`,
			want:   `{"metadata": {}, "namespace": "prod"}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			object := strings.Replace(tc.object, "{", `{"kind": "ConfigMap", "apiVersion": "v1", `, 1)
			templateJSON := withObjects(values("NS", "team"), object)
			tpl := mustProcess(t, templateJSON)
			want := strings.Replace(tc.want, "{", `{"kind": "ConfigMap", "apiVersion": "v1", `, 1)
			if diff := cmp.Diff(generic(t, []byte(want)), objectValue(t, tpl, 0)); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			assertSameAsOpenShift(t, templateJSON, tpl)
		})
	}
}

func TestLabels(t *testing.T) {
	cases := map[string]struct {
		labels string // the template's labels, JSON
		object string
		want   string
	}{
		"added to metadata.labels, keeping the object's own": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"app": "a"}}}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"app": "a", "template": "db"}}}`,
		},
		"a template label overrides the object's label of the same key": {
			labels: `{"app": "template"}`,
			object: `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"app": "object"}}}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"app": "template"}}}`,
		},
		"metadata is created when the object has none": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Service", "apiVersion": "v1"}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"template": "db"}}}`,
		},
		"not into a Deployment's pod template or selector": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d"},
				"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}}}}`,
			want: `{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d", "labels": {"template": "db"}},
				"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}}}}}`,
		},
		"not into a v1 DeploymentConfig's pod template either (library-go does that only for typed objects)": {
			labels: `{"template": "db"}`,
			object: `{"kind": "DeploymentConfig", "apiVersion": "v1", "metadata": {"name": "d"},
				"spec": {"selector": {"app": "a"}, "template": {"metadata": {"labels": {"app": "a"}}}}}`,
			want: `{"kind": "DeploymentConfig", "apiVersion": "apps.openshift.io/v1", "metadata": {"name": "d", "labels": {"template": "db"}},
				"spec": {"selector": {"app": "a"}, "template": {"metadata": {"labels": {"app": "a"}}}}}`,
		},
		"a top-level labels field is not metadata": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Service", "apiVersion": "v1", "metadata": {}, "labels": {"app": "a"}}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"template": "db"}}, "labels": {"app": "a"}}`,
		},
		"the object's labels are dropped when one of them is not a string": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"app": "a", "n": 5}}}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {"template": "db"}}}`,
		},
		"no template labels: metadata is not touched": {
			labels: `null`,
			object: `{"kind": "Service", "apiVersion": "v1"}`,
			want:   `{"kind": "Service", "apiVersion": "v1"}`,
		},
		"empty template labels still give the object an empty labels map": {
			labels: `{}`,
			object: `{"kind": "Service", "apiVersion": "v1"}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": {"labels": {}}}`,
		},
		"metadata that is not a map is left alone": {
			labels: `{"template": "db"}`,
			object: `{"kind": "Service", "apiVersion": "v1", "metadata": "odd"}`,
			want:   `{"kind": "Service", "apiVersion": "v1", "metadata": "odd"}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			templateJSON := fmt.Sprintf(`{"labels": %s, "objects": [%s]}`, tc.labels, tc.object)
			tpl := mustProcess(t, templateJSON)
			if diff := cmp.Diff(generic(t, []byte(tc.want)), objectValue(t, tpl, 0)); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			assertSameAsOpenShift(t, templateJSON, tpl)
		})
	}
}

func TestLabelsOnAListObjectAreAnError(t *testing.T) {
	_, errs := processJSON(t, `{"labels": {"a": "b"}, "objects": [
		{"kind": "List", "apiVersion": "v1", "items": [{"kind": "Service", "apiVersion": "v1"}]}]}`)
	want := []string{`item[0].labels: Invalid value: {"a":"b"}: label could not be applied: object does not implement the Object interfaces`}
	if diff := cmp.Diff(want, errorStrings(errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLegacyKindsGetTheirGroup(t *testing.T) {
	cases := []struct {
		apiVersion, kind string
		want             string
	}{
		{"v1", "Route", "route.openshift.io/v1"},
		{"v1", "DeploymentConfig", "apps.openshift.io/v1"},
		{"v1", "BuildConfig", "build.openshift.io/v1"},
		{"v1", "Build", "build.openshift.io/v1"},
		{"v1", "ImageStream", "image.openshift.io/v1"},
		{"v1", "ImageStreamTag", "image.openshift.io/v1"},
		{"v1", "Template", "template.openshift.io/v1"},
		{"v1", "Project", "project.openshift.io/v1"},
		{"v1", "ProjectRequest", "project.openshift.io/v1"},
		{"v1", "User", "user.openshift.io/v1"},
		{"v1", "Group", "user.openshift.io/v1"},
		{"v1", "RoleBinding", "authorization.openshift.io/v1"},
		{"v1", "Role", "authorization.openshift.io/v1"},
		{"v1", "ClusterRole", "authorization.openshift.io/v1"},
		{"v1", "ClusterRoleBinding", "authorization.openshift.io/v1"},
		{"v1", "Service", "v1"},
		{"v1", "Secret", "v1"},
		{"apps/v1", "Deployment", "apps/v1"},
		{"rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.authorization.k8s.io/v1"},
		{"route.openshift.io/v1", "Route", "route.openshift.io/v1"},
		// The group is added whatever the version, as library-go looks at the kind only.
		{"v2", "Route", "route.openshift.io/v2"},
	}
	for _, tc := range cases {
		t.Run(tc.apiVersion+" "+tc.kind, func(t *testing.T) {
			tpl := mustProcess(t, fmt.Sprintf(`{"objects": [{"apiVersion": %q, "kind": %q}]}`, tc.apiVersion, tc.kind))
			obj := tpl.Objects[0].Object.(*unstructured.Unstructured)
			if got := obj.GetAPIVersion(); got != tc.want {
				t.Errorf("apiVersion = %q, want %q", got, tc.want)
			}
			if got := obj.GetKind(); got != tc.kind {
				t.Errorf("kind = %q, want %q", got, tc.kind)
			}
		})
	}
}

// TestOddKindsAsInOpenShift: library-go resets apiVersion and kind from the parsed GroupVersionKind, so values that
// do not parse become empty strings. The server then rejects the object when it is created, as on OpenShift.
func TestOddKindsAsInOpenShift(t *testing.T) {
	cases := map[string]struct {
		object string
		want   string
	}{
		"a kind substituted with a number": {
			object: `{"kind": "${{N}}", "apiVersion": "v1"}`, want: `{"kind": "", "apiVersion": "v1"}`,
		},
		"a kind substituted with null": {
			object: `{"kind": "${{NULL}}", "apiVersion": "v1"}`, want: `{"kind": "", "apiVersion": "v1"}`,
		},
		"an apiVersion that is not a string": {
			object: `{"kind": "Service", "apiVersion": 5}`, want: `{"kind": "Service", "apiVersion": ""}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			templateJSON := withObjects(values("N", "5", "NULL", "null"), tc.object)
			tpl := mustProcess(t, templateJSON)
			if diff := cmp.Diff(generic(t, []byte(tc.want)), objectValue(t, tpl, 0)); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			assertSameAsOpenShift(t, templateJSON, tpl)
		})
	}
}

func TestProcessErrors(t *testing.T) {
	cases := map[string]struct {
		template string
		want     []string
	}{
		"an unknown generator": {
			template: `{"parameters": [{"name": "X", "generate": "random", "from": "[a-z]{3}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: "random": Unknown generator name 'random' for parameter X`},
		},
		"a malformed expression, with OpenShift's spelling": {
			template: `{"parameters": [{"name": "X", "generate": "expression", "from": "[ABC]{3}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: {"name":"X","generate":"expression","from":"[ABC]{3}"}: malformed expresion syntax: [ABC]`},
		},
		"a length over 255": {
			template: `{"parameters": [{"name": "X", "generate": "expression", "from": "[a-z]{300}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: {"name":"X","generate":"expression","from":"[a-z]{300}"}: range must be within [1-255] characters (300)`},
		},
		"a length of 0": {
			template: `{"parameters": [{"name": "X", "generate": "expression", "from": "[a-z]{0}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: {"name":"X","generate":"expression","from":"[a-z]{0}"}: range must be within [1-255] characters (0)`},
		},
		"a reversed range": {
			template: `{"parameters": [{"name": "X", "generate": "expression", "from": "[Z-A]{3}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: {"name":"X","generate":"expression","from":"[Z-A]{3}"}: invalid range specified: Z-A`},
		},
		"a required parameter with no value is named": {
			template: `{"parameters": [{"name": "A", "value": "a"}, {"name": "DB_PASSWORD", "required": true}]}`,
			want:     []string{`template.parameters[1]: Required value: template.parameters[1]: parameter DB_PASSWORD is required and must be specified`},
		},
		"from without generate is ignored, so a required parameter stays empty": {
			template: `{"parameters": [{"name": "P", "required": true, "from": "[a-z]{8}"}]}`,
			want:     []string{`template.parameters[0]: Required value: template.parameters[0]: parameter P is required and must be specified`},
		},
		"generate with an empty from yields an empty value": {
			template: `{"parameters": [{"name": "P", "required": true, "generate": "expression"}]}`,
			want:     []string{`template.parameters[0]: Required value: template.parameters[0]: parameter P is required and must be specified`},
		},
		"an object without a kind": {
			template: `{"objects": [{"apiVersion": "v1"}]}`,
			want:     []string{`item[0].objects: Invalid value: {"apiVersion":"v1"}: unable to handle object: Object 'Kind' is missing in '{"apiVersion": "v1"}'`},
		},
		"an object that is not a JSON object": {
			template: `{"objects": [{"kind": "Service", "apiVersion": "v1"}, 5]}`,
			want:     []string{`item[1].objects: Invalid value: 5: unable to handle object: json: cannot unmarshal number into Go value of type unstructured.detector`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := processJSON(t, tc.template)
			if diff := cmp.Diff(tc.want, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if libraryErrs := libraryOutcome(t, tc.template); !strings.Contains(libraryErrs, jsonString(t, tc.want[0])) {
				t.Errorf("library-go alone gave %s, want the same error", libraryErrs)
			}
		})
	}
}

// jsonString returns s encoded as it appears inside a JSON document, without the quotes.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(string(data), `"`)
}

func TestAGivenValueIsNotGenerated(t *testing.T) {
	tpl := mustProcess(t, `{"parameters": [{"name": "P", "value": "given", "generate": "expression", "from": "[a-z]{8}"}]}`)
	if got := tpl.Parameters[0].Value; got != "given" {
		t.Errorf("P = %q, want the given value", got)
	}
}

// TestCrashCases: inputs on which OpenShift's own processing panics are errors naming the object and field.
func TestCrashCases(t *testing.T) {
	cases := map[string]struct {
		template string
		want     []string
	}{
		"${{X}} with null as a list element": {
			template: withObjects(values("X", "null"),
				`{"kind": "Service", "apiVersion": "v1"}, {"kind": "Service", "apiVersion": "v1"},
				{"kind": "ConfigMap", "apiVersion": "v1", "spec": {"items": ["${{X}}", "ok"]}}`),
			want: []string{`objects[2].spec.items[0]: Invalid value: "${{X}}": parameter X is JSON null, which OpenShift cannot put in a list (it panics)`},
		},
		"${{X}} with null in a nested list": {
			template: withObjects(values("X", "null"), `{"kind": "ConfigMap", "apiVersion": "v1", "l": [["a", "${{X}}"]]}`),
			want:     []string{`objects[0].l[0][1]: Invalid value: "${{X}}": parameter X is JSON null, which OpenShift cannot put in a list (it panics)`},
		},
		"${{X}} as a map key with a number": {
			template: withObjects(values("X", "5"), `{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${{X}}": "v"}}`),
			want:     []string{`objects[0].data: Invalid value: "${{X}}": parameter X is a JSON number, and a map key must stay a string (OpenShift panics on this)`},
		},
		"${{X}} as a map key with null": {
			template: withObjects(values("X", "null"), `{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${{X}}": "v"}}`),
			want:     []string{`objects[0].data: Invalid value: "${{X}}": parameter X is JSON null, and a map key must stay a string (OpenShift panics on this)`},
		},
		"${{X}} as a map key with an object, under a label-like key": {
			template: withObjects(values("X", `{"a": 1}`),
				`{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"annotations": {"a.b/c": {"${{X}}": 1}}}}`),
			want: []string{`objects[0].metadata.annotations[a.b/c]: Invalid value: "${{X}}": parameter X is a JSON object, and a map key must stay a string (OpenShift panics on this)`},
		},
		"${{X}} as a map key with a boolean": {
			template: withObjects(values("X", "true"), `{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${{X}}": "v"}}`),
			want:     []string{`objects[0].data: Invalid value: "${{X}}": parameter X is a JSON boolean, and a map key must stay a string (OpenShift panics on this)`},
		},
		"${{X}} as a map key with a list": {
			template: withObjects(values("X", "[1]"), `{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${{X}}": "v"}}`),
			want:     []string{`objects[0].data: Invalid value: "${{X}}": parameter X is a JSON list, and a map key must stay a string (OpenShift panics on this)`},
		},
		"a key substituted onto a ${{X}} key that cannot be set: reported once": {
			template: withObjects(values("A", "${{X}}", "X", "5"),
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${A}": "1", "${{X}}": "2"}}`),
			want: []string{`objects[0].data: Invalid value: "${{X}}": parameter X is a JSON number, and a map key must stay a string (OpenShift panics on this)`},
		},
		"a null object": {
			template: `{"objects": [{"kind": "Service", "apiVersion": "v1"}, null]}`,
			want:     []string{`objects[1]: Required value: an object is required, not null`},
		},
		"an empty character class": {
			template: `{"parameters": [{"name": "P", "generate": "expression", "from": "x[a-a]{3}"}]}`,
			want:     []string{`template.parameters[0]: Invalid value: {"name":"P","generate":"expression","from":"x[a-a]{3}"}: no characters to choose from in "x[a-a]{3}": a range X-Y stops before Y in OpenShift, so a range such as a-a is empty`},
		},
		"a key substituted onto an existing key with a null value": {
			template: withObjects(values("K", "k", "N", "null"),
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${K}": "${{N}}", "k": "v"}}`),
			want: []string{`objects[0].data: Invalid value: "${K}": the key "${K}" becomes "k" and its value becomes null, deleting the key, which makes OpenShift panic when it visits the key "k" afterwards`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := processJSON(t, tc.template)
			if diff := cmp.Diff(tc.want, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if outcomes := libraryOutcomes(t, tc.template, 50); outcomes["panic"] == 0 {
				t.Errorf("library-go alone does not panic on this input any more (%v): the check may be dropped", outcomes)
			}
		})
	}
}

// TestOrderDependentInputsAreErrors: inputs whose result OpenShift leaves to Go's random map order. The test shows
// library-go giving more than one result for each, so that Kubia does not reject what OpenShift does reliably.
func TestOrderDependentInputsAreErrors(t *testing.T) {
	cases := map[string]struct {
		template string
		want     []string
	}{
		"two keys that become one key with different values": {
			template: withObjects(values("A", "k", "B", "k"),
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${A}": "1", "${B}": "2"}}`),
			want: []string{`objects[0].data: Invalid value: "${A}": the keys "${A}", "${B}" all become "k" with different values; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"a key that becomes an existing key whose value a second substitution changes": {
			template: withObjects(values("K", "k", "V", "${W}", "W", "w"),
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${K}": "${V}", "k": "old"}}`),
			want: []string{`objects[0].data: Invalid value: "${K}": the key "${K}" becomes "k", a key the map already has, with a different outcome depending on which is visited first; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"a key that becomes another key that is itself substituted": {
			template: withObjects(values("A", "${B}", "B", "k"),
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${A}": "1", "${B}": "2"}}`),
			want: []string{`objects[0].data: Invalid value: "${A}": the key "${A}" becomes "${B}", a key of the same map that itself becomes "k"; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"a key moved onto an existing key whose value a second substitution makes OpenShift panic on": {
			template: withObjects(`[{"name": "K", "value": "k"}, {"name": "L", "value": "[\"${{N}}\"]"}, {"name": "N", "value": "null"}]`,
				`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${K}": "${{L}}", "k": "old"}}`),
			want: []string{`objects[0].data: Invalid value: "${K}": the key "${K}" becomes "k", a key the map already has, with a different outcome depending on which is visited first; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"a template label key that becomes another label key that is itself substituted": {
			template: `{"labels": {"${A}": "1", "${B}": "2"}, "parameters": ` + values("A", "${B}", "B", "x") + `}`,
			want:     []string{`labels: Invalid value: "${A}": the key "${A}" becomes "${B}", a key of the same map that itself becomes "x"; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"two template labels that become one key with different values": {
			template: `{"labels": {"${A}": "1", "${B}": "2"}, "parameters": ` + values("A", "x", "B", "x") + `}`,
			want:     []string{`labels: Invalid value: "${A}": the keys "${A}", "${B}" all become "x" with different values; OpenShift's result would depend on the random order in which Go visits the map's keys`},
		},
		"a template label key whose substitution refers to a parameter again": {
			template: `{"labels": {"${A}": "1"}, "parameters": ` + values("A", "${B}", "B", "b") + `}`,
			want:     []string{`labels: Invalid value: "${A}": the key "${A}" becomes "${B}", which substitution changes again (into "b"); OpenShift substitutes a moved label once or twice depending on the random order in which Go visits the map's keys`},
		},
		"a moved template label whose value refers to a parameter again": {
			template: `{"labels": {"${A}": "${B}"}, "parameters": ` + values("A", "x", "B", "${C}", "C", "c") + `}`,
			want:     []string{`labels: Invalid value: "${A}": the key "${A}" becomes "x" and its value becomes "${C}", which substitution changes again (into "c"); OpenShift substitutes a moved label once or twice depending on the random order in which Go visits the map's keys`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, errs := processJSON(t, tc.template)
			if diff := cmp.Diff(tc.want, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if outcomes := libraryOutcomes(t, tc.template, 300); len(outcomes) < 2 {
				t.Errorf("library-go alone gave one result in 300 runs (%v): OpenShift's result does not depend on the order", outcomes)
			}
		})
	}
}

// TestOrderIndependentCollisionsAsInOpenShift: collisions whose result is the same in every order are processed.
func TestOrderIndependentCollisionsAsInOpenShift(t *testing.T) {
	cases := map[string]string{
		"a template label key that becomes an existing label": `{"labels": {"${A}": "new", "x": "old"},
			"objects": [{"kind": "Service", "apiVersion": "v1"}], "parameters": ` + values("A", "x") + `}`,
		"two template label keys with the same value": `{"labels": {"${A}": "v", "${B}": "v"},
			"objects": [{"kind": "Service", "apiVersion": "v1"}], "parameters": ` + values("A", "x", "B", "x") + `}`,
		"an object key that becomes an existing key, with a nested value": withObjects(values("K", "k", "V", "v"),
			`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"${K}": {"n": ["${V}"]}, "k": "old"}}`),
	}
	for name, templateJSON := range cases {
		t.Run(name, func(t *testing.T) {
			assertSameAsOpenShift(t, templateJSON, mustProcess(t, templateJSON))
		})
	}
}

func TestUnforeseenPanicsBecomeInternalErrors(t *testing.T) {
	processor := templateprocessing.NewProcessor(nil)
	// An empty RawExtension makes library-go dereference nil; Process itself rejects it before this point.
	tpl := &templatev1.Template{Objects: []runtime.RawExtension{{}}}
	errs := processWithoutPanics(processor, tpl)
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal || errs[0].Field != "objects" ||
		!strings.Contains(errs[0].Error(), "OpenShift's template processing panicked: runtime error: invalid memory address") {
		t.Errorf("errors = %v, want one internal error on objects naming the panic", errs)
	}
}

func TestObjectsAreLeftAsEncodableUnstructured(t *testing.T) {
	tpl := mustProcess(t, `{"kind": "Template", "apiVersion": "template.openshift.io/v1", "metadata": {"name": "t"},
		"objects": [
			{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"}},
			{"kind": "List", "apiVersion": "v1", "items": [{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "${N}"}}]}
		],
		"parameters": [{"name": "N", "value": "in-list"}]}`)
	if _, ok := tpl.Objects[0].Object.(*unstructured.Unstructured); !ok {
		t.Errorf("object 0 is %T, want *unstructured.Unstructured", tpl.Objects[0].Object)
	}
	if _, ok := tpl.Objects[1].Object.(*unstructured.UnstructuredList); !ok {
		t.Errorf("object 1 is %T, want *unstructured.UnstructuredList for a List", tpl.Objects[1].Object)
	}
	for i, obj := range tpl.Objects {
		if obj.Raw != nil {
			t.Errorf("object %d keeps its raw JSON %s", i, obj.Raw)
		}
	}
	data, err := json.Marshal(tpl)
	if err != nil {
		t.Fatalf("encoding the processed template: %v", err)
	}
	roundTripped := decodeTemplate(t, string(data))
	want := `{"kind": "List", "apiVersion": "v1", "items": [{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "in-list"}}]}`
	if diff := cmp.Diff(generic(t, []byte(want)), generic(t, roundTripped.Objects[1].Raw)); diff != "" {
		t.Errorf("the List after a round trip (-want +got):\n%s", diff)
	}
}

func TestTypedAndUnstructuredObjectsAreProcessedLikeJSON(t *testing.T) {
	tpl := &templatev1.Template{
		Parameters: []templatev1.Parameter{{Name: "N", Value: "five"}, {Name: "COUNT", Value: "5"}},
		Objects: []runtime.RawExtension{
			{Object: &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "${N}", Namespace: "hard", CreationTimestamp: metav1.Now()},
				Data:       map[string]string{"count": "${{COUNT}}"},
			}},
			{Object: &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": "v1", "kind": "Route", "metadata": map[string]interface{}{"name": "${N}"},
			}}},
		},
	}
	if errs := Process(tpl, rand.New(rand.NewSource(testSeed))); len(errs) > 0 {
		t.Fatalf("processing failed: %v", errs)
	}
	wantConfigMap := `{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "five", "creationTimestamp": null}, "data": {"count": 5}}`
	got := objectValue(t, tpl, 0)
	delete(got.(map[string]interface{})["metadata"].(map[string]interface{}), "creationTimestamp")
	want := generic(t, []byte(wantConfigMap))
	delete(want.(map[string]interface{})["metadata"].(map[string]interface{}), "creationTimestamp")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("typed ConfigMap (-want +got):\n%s", diff)
	}
	wantRoute := `{"kind": "Route", "apiVersion": "route.openshift.io/v1", "metadata": {"name": "five"}}`
	if diff := cmp.Diff(generic(t, []byte(wantRoute)), objectValue(t, tpl, 1)); diff != "" {
		t.Errorf("Unstructured Route (-want +got):\n%s", diff)
	}
}

func TestProcessWithoutARandUsesTheClock(t *testing.T) {
	tpl := decodeTemplate(t, `{"parameters": [{"name": "P", "generate": "expression", "from": "[0-8]{5}"}]}`)
	if errs := Process(tpl, nil); len(errs) > 0 {
		t.Fatalf("processing failed: %v", errs)
	}
	if got := tpl.Parameters[0].Value; len(got) != 5 || strings.Trim(got, "01234567") != "" {
		t.Errorf("P = %q, want 5 characters from 0-7", got)
	}
}

// TestSameAsLibraryGoOnARealisticTemplate processes a template shaped like OpenShift's database templates with
// Process and with library-go alone, from the same seed, and expects the same result.
func TestSameAsLibraryGoOnARealisticTemplate(t *testing.T) {
	templateJSON := `{
		"kind": "Template", "apiVersion": "template.openshift.io/v1",
		"metadata": {"name": "postgresql-ephemeral", "annotations": {"iconClass": "icon-postgresql"}},
		"message": "Username: ${POSTGRESQL_USER}\nPassword: ${POSTGRESQL_PASSWORD}\nDatabase: ${POSTGRESQL_DATABASE}",
		"labels": {"template": "postgresql-ephemeral-template", "app": "${DATABASE_SERVICE_NAME}"},
		"objects": [
			{"kind": "Secret", "apiVersion": "v1",
			 "metadata": {"name": "${DATABASE_SERVICE_NAME}", "namespace": "openshift",
			   "annotations": {"template.openshift.io/expose-password": "{.data['database-password']}"}},
			 "stringData": {"database-user": "${POSTGRESQL_USER}", "database-password": "${POSTGRESQL_PASSWORD}"}},
			{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "${DATABASE_SERVICE_NAME}"},
			 "spec": {"ports": [{"name": "postgresql", "port": "${{PORT}}", "targetPort": 5432}],
			   "selector": {"name": "${DATABASE_SERVICE_NAME}"}}},
			{"kind": "DeploymentConfig", "apiVersion": "v1", "metadata": {"name": "${DATABASE_SERVICE_NAME}"},
			 "spec": {"replicas": 1, "selector": {"name": "${DATABASE_SERVICE_NAME}"},
			   "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true, "containerNames": ["postgresql"],
			     "from": {"kind": "ImageStreamTag", "name": "postgresql:${POSTGRESQL_VERSION}", "namespace": "${NAMESPACE}"}}}],
			   "template": {"metadata": {"labels": {"name": "${DATABASE_SERVICE_NAME}"}},
			     "spec": {"containers": [{"name": "postgresql", "image": " ",
			       "env": [{"name": "POSTGRESQL_USER", "valueFrom": {"secretKeyRef": {"name": "${DATABASE_SERVICE_NAME}", "key": "database-user"}}}],
			       "resources": {"limits": {"memory": "${MEMORY_LIMIT}"}}}]}}}}
		],
		"parameters": [
			{"name": "MEMORY_LIMIT", "value": "512Mi", "required": true},
			{"name": "NAMESPACE", "value": "openshift"},
			{"name": "DATABASE_SERVICE_NAME", "value": "postgresql", "required": true},
			{"name": "POSTGRESQL_USER", "generate": "expression", "from": "user[A-Z0-9]{3}", "required": true},
			{"name": "POSTGRESQL_PASSWORD", "generate": "expression", "from": "[a-zA-Z0-9]{16}", "required": true},
			{"name": "POSTGRESQL_DATABASE", "value": "sampledb", "required": true},
			{"name": "POSTGRESQL_VERSION", "value": "10-el8"},
			{"name": "PORT", "value": "5432"}
		]}`
	tpl := mustProcess(t, templateJSON)
	assertSameAsOpenShift(t, templateJSON, tpl)

	user, password := tpl.Parameters[3].Value, tpl.Parameters[4].Value
	if !strings.HasPrefix(user, "user") || len(user) != 7 || len(password) != 16 {
		t.Errorf("generated user %q and password %q, want user+3 and 16 characters", user, password)
	}
	if want := "Username: " + user + "\nPassword: " + password + "\nDatabase: sampledb"; tpl.Message != want {
		t.Errorf("message = %q, want %q", tpl.Message, want)
	}
	dc := tpl.Objects[2].Object.(*unstructured.Unstructured)
	if dc.GetAPIVersion() != "apps.openshift.io/v1" {
		t.Errorf("DeploymentConfig apiVersion = %q, want apps.openshift.io/v1", dc.GetAPIVersion())
	}
	podLabels, _, _ := unstructured.NestedStringMap(dc.Object, "spec", "template", "metadata", "labels")
	if diff := cmp.Diff(map[string]string{"name": "postgresql"}, podLabels); diff != "" {
		t.Errorf("pod template labels (-want +got):\n%s", diff)
	}
	if ns := tpl.Objects[0].Object.(*unstructured.Unstructured).GetNamespace(); ns != "" {
		t.Errorf("Secret namespace = %q, want the hard-coded one stripped", ns)
	}
	port, _, _ := unstructured.NestedSlice(tpl.Objects[1].Object.(*unstructured.Unstructured).Object, "spec", "ports")
	if got := port[0].(map[string]interface{})["port"]; got != float64(5432) {
		t.Errorf("Service port = %#v, want the number 5432", got)
	}
}

// TestGenerationDrawsAsLibraryGo: Process draws from the rand exactly as library-go's own Process does, so a seed
// gives the same values (it runs generation first and library-go's second pass draws nothing).
func TestGenerationDrawsAsLibraryGo(t *testing.T) {
	templateJSON := `{"parameters": [
		{"name": "A", "generate": "expression", "from": "[\\w]{10}"},
		{"name": "B", "generate": "expression"},
		{"name": "C", "generate": "expression", "from": "literal"},
		{"name": "D", "generate": "expression", "from": "[\\A]{10}x[0-9]{3}"}]}`
	ours := mustProcess(t, templateJSON)
	theirs := decodeTemplate(t, templateJSON)
	processor := templateprocessing.NewProcessor(map[string]generator.Generator{
		ExpressionGenerator: generator.NewExpressionValueGenerator(rand.New(rand.NewSource(testSeed))),
	})
	if errs := processor.Process(theirs); len(errs) > 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff(theirs.Parameters, ours.Parameters); diff != "" {
		t.Errorf("parameters (-library-go +Process):\n%s", diff)
	}
}

// oddObject is a Go object that cannot be converted to Unstructured.
type oddObject struct {
	metav1.TypeMeta
	Channel chan int
}

func (o *oddObject) DeepCopyObject() runtime.Object { return &oddObject{TypeMeta: o.TypeMeta} }

func TestAnObjectThatCannotBeUnstructuredIsAnError(t *testing.T) {
	tpl := &templatev1.Template{Objects: []runtime.RawExtension{{Object: &oddObject{Channel: make(chan int)}}}}
	errs := Process(tpl, nil)
	if len(errs) != 1 || errs[0].Field != "objects[0]" || !strings.Contains(errs[0].Error(),
		`Invalid value: "*templateprocessing.oddObject": cannot convert the object to Unstructured`) {
		t.Errorf("errors = %v, want one naming objects[0]", errs)
	}
}

func TestDecodedContent(t *testing.T) {
	cases := map[string]struct {
		item   runtime.RawExtension
		want   map[string]interface{}
		wantOK bool
	}{
		"raw JSON": {
			item:   runtime.RawExtension{Raw: []byte(`{"kind": "Service", "apiVersion": "v1"}`)},
			want:   map[string]interface{}{"kind": "Service", "apiVersion": "v1"},
			wantOK: true,
		},
		"raw JSON library-go cannot decode is left to library-go": {
			item: runtime.RawExtension{Raw: []byte(`{"apiVersion": "v1"}`)},
		},
		"an Unstructured object": {
			item:   runtime.RawExtension{Object: &unstructured.Unstructured{Object: map[string]interface{}{"kind": "Route"}}},
			want:   map[string]interface{}{"kind": "Route"},
			wantOK: true,
		},
		"a typed object is not checked (normaliseObjects converts it first)": {
			item: runtime.RawExtension{Object: &corev1.Service{}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := decodedContent(tc.item)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
		})
	}
}
