package templateprocessing

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	templatev1 "github.com/openshift/api/template/v1"
)

// envVarNameRule is apimachinery's message for a name that is not a valid environment variable name, as oc prints it.
const envVarNameRule = "[a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', " +
	"and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', " +
	"regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')]"

func TestParseParams(t *testing.T) {
	cases := map[string]struct {
		assignments []string
		want        []Param
		wantErr     string
	}{
		"name and value, split at the first equals sign": {
			assignments: []string{"A=1", "B=x=y", "C="},
			want:        []Param{{"A", "1"}, {"B", "x=y"}, {"C", ""}},
		},
		"a repeated name is kept for SetParameters to report": {
			assignments: []string{"A=1", "A=2"},
			want:        []Param{{"A", "1"}, {"A", "2"}},
		},
		"environment variable names allow dots and dashes": {
			assignments: []string{"my-param=1", "a.b=2"},
			want:        []Param{{"my-param", "1"}, {"a.b", "2"}},
		},
		"no equals sign": {
			assignments: []string{"A=1", "B"},
			wantErr:     `invalid parameter assignment in "B", []`,
		},
		"a name starting with a digit": {
			assignments: []string{"1A=x"},
			wantErr:     `invalid parameter assignment in "1A=x", ` + envVarNameRule,
		},
		"an empty name": {
			assignments: []string{"=x"},
			wantErr:     `invalid parameter assignment in "=x", ` + envVarNameRule,
		},
		"the first bad assignment is the error": {
			assignments: []string{"A", "1B=2"},
			wantErr:     `invalid parameter assignment in "A", []`,
		},
		"nothing": {want: []Param{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseParams(tc.assignments)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

// errorText returns err's message, or "" for nil.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCommaWarnings(t *testing.T) {
	got := CommaWarnings([]string{"A=1,B=2", "A=1,2", "LIST=a,b"})
	want := []string{`warning: --param no longer accepts comma-separated lists of values. "A=1,B=2" will be treated as a single key-value pair.`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestSplitArgs(t *testing.T) {
	cases := map[string]struct {
		args            []string
		wantName        string
		wantAssignments []string
		wantErr         string
	}{
		"a name and assignments in any order": {
			args: []string{"A=1", "mytemplate", "B=2"}, wantName: "mytemplate", wantAssignments: []string{"A=1", "B=2"},
		},
		"only assignments": {args: []string{"A=1"}, wantAssignments: []string{"A=1"}},
		"two names": {
			args: []string{"one", "A=1", "two"}, wantErr: "template name must be specified only once: two",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gotName, gotAssignments, err := SplitArgs(tc.args)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if gotName != tc.wantName || !cmp.Equal(gotAssignments, tc.wantAssignments) {
				t.Errorf("SplitArgs = %q, %q; want %q, %q", gotName, gotAssignments, tc.wantName, tc.wantAssignments)
			}
		})
	}
}

func TestSetParameters(t *testing.T) {
	template := func() *templatev1.Template {
		return &templatev1.Template{Parameters: []templatev1.Parameter{
			{Name: "USER", Value: "default"},
			{Name: "PASSWORD", Generate: "expression", From: "[a-z]{8}"},
			{Name: "TOKEN", Generate: "expression", From: "[a-z]{8}"},
		}}
	}
	cases := map[string]struct {
		values        []Param
		ignoreUnknown bool
		want          []templatev1.Parameter
		wantErr       string
	}{
		"a value replaces the default": {
			values: []Param{{"USER", "admin"}},
			want: []templatev1.Parameter{
				{Name: "USER", Value: "admin"},
				{Name: "PASSWORD", Generate: "expression", From: "[a-z]{8}"},
				{Name: "TOKEN", Generate: "expression", From: "[a-z]{8}"},
			},
		},
		"a value switches generation off, an empty one too": {
			values: []Param{{"PASSWORD", "secret"}, {"TOKEN", ""}},
			want: []templatev1.Parameter{
				{Name: "USER", Value: "default"},
				{Name: "PASSWORD", Value: "secret", From: "[a-z]{8}"},
				{Name: "TOKEN", From: "[a-z]{8}"},
			},
		},
		"a name given twice is an error, and nothing is set": {
			values:  []Param{{"USER", "a"}, {"TOKEN", "t"}, {"USER", "b"}, {"PASSWORD", "1"}, {"PASSWORD", "2"}, {"USER", "c"}},
			want:    template().Parameters,
			wantErr: "The following parameters were provided more than once: PASSWORD, USER",
		},
		"a name given twice is an error even when unknown and ignored": {
			values: []Param{{"NOPE", "a"}, {"NOPE", "a"}}, ignoreUnknown: true,
			want:    template().Parameters,
			wantErr: "The following parameters were provided more than once: NOPE",
		},
		"unknown names are errors, in the order given, after the known ones are set": {
			values: []Param{{"ZED", "1"}, {"USER", "admin"}, {"ALPHA", "2"}},
			want: []templatev1.Parameter{
				{Name: "USER", Value: "admin"},
				{Name: "PASSWORD", Generate: "expression", From: "[a-z]{8}"},
				{Name: "TOKEN", Generate: "expression", From: "[a-z]{8}"},
			},
			wantErr: `[unknown parameter name "ZED", unknown parameter name "ALPHA"]`,
		},
		"one unknown name": {
			values: []Param{{"NOPE", "1"}}, want: template().Parameters, wantErr: `unknown parameter name "NOPE"`,
		},
		"unknown names can be ignored": {
			values: []Param{{"NOPE", "1"}, {"USER", "admin"}}, ignoreUnknown: true,
			want: []templatev1.Parameter{
				{Name: "USER", Value: "admin"},
				{Name: "PASSWORD", Generate: "expression", From: "[a-z]{8}"},
				{Name: "TOKEN", Generate: "expression", From: "[a-z]{8}"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tpl := template()
			err := SetParameters(tpl, tc.values, tc.ignoreUnknown)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, tpl.Parameters); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetParametersWithATemplateDefiningANameTwice: oc sets the first parameter of the name, processing uses the
// last, so the value given is lost. This is OpenShift's behaviour, kept.
func TestSetParametersWithATemplateDefiningANameTwice(t *testing.T) {
	tpl := decodeTemplate(t, withObjects(values("A", "first", "A", "last"),
		`{"kind": "ConfigMap", "apiVersion": "v1", "data": {"a": "${A}"}}`))
	if err := SetParameters(tpl, []Param{{"A", "given"}}, false); err != nil {
		t.Fatal(err)
	}
	if tpl.Parameters[0].Value != "given" || tpl.Parameters[1].Value != "last" {
		t.Fatalf("parameters = %+v, want only the first set", tpl.Parameters)
	}
	mustProcessTemplate(t, tpl)
	data := objectValue(t, tpl, 0).(map[string]interface{})["data"]
	if diff := cmp.Diff(map[string]interface{}{"a": "last"}, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
}

// TestAGivenEmptyValueIsNotGenerated: `oc process -p PASSWORD=` gives an empty password, and a required parameter
// given an empty value fails processing rather than being generated.
func TestAGivenEmptyValueIsNotGenerated(t *testing.T) {
	tpl := decodeTemplate(t, `{"parameters": [{"name": "PASSWORD", "generate": "expression", "from": "[a-z]{8}", "required": true}]}`)
	if err := SetParameters(tpl, []Param{{"PASSWORD", ""}}, false); err != nil {
		t.Fatal(err)
	}
	errs := Process(tpl, nil)
	want := []string{"template.parameters[0]: Required value: template.parameters[0]: parameter PASSWORD is required and must be specified"}
	if diff := cmp.Diff(want, errorStrings(errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func mustProcessTemplate(t *testing.T, tpl *templatev1.Template) {
	t.Helper()
	if errs := Process(tpl, nil); len(errs) > 0 {
		t.Fatalf("processing failed: %v", errs)
	}
}

func TestAddLabels(t *testing.T) {
	cases := map[string]struct {
		labels  map[string]string
		spec    string
		want    map[string]string
		wantErr string
	}{
		"merged, overriding the template's own value": {
			labels: map[string]string{"app": "template", "keep": "k"}, spec: "app=cli,env=${ENV}",
			want: map[string]string{"app": "cli", "keep": "k", "env": "${ENV}"},
		},
		"into a template without labels": {spec: "a=1", want: map[string]string{"a": "1"}},
		"an empty value":                 {spec: "a=", want: map[string]string{"a": ""}},
		"an empty spec adds nothing":     {spec: "", want: nil},
		"no equals sign": {
			spec: "a=1,b", wantErr: "error parsing labels: unexpected label spec: b",
		},
		"two equals signs": {
			spec: "a=1=2", wantErr: "error parsing labels: unexpected label spec: a=1=2",
		},
		"an empty key": {
			spec: "=1", wantErr: "error parsing labels: unexpected empty label key",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tpl := &templatev1.Template{ObjectLabels: tc.labels}
			err := AddLabels(tpl, tc.spec)
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" && !cmp.Equal(tc.want, tpl.ObjectLabels) {
				t.Errorf("labels = %v, want %v", tpl.ObjectLabels, tc.want)
			}
		})
	}
}

func TestAddedLabelsReachTheObjects(t *testing.T) {
	tpl := decodeTemplate(t, `{"labels": {"app": "t"}, "objects": [{"kind": "Service", "apiVersion": "v1"}],
		"parameters": [{"name": "ENV", "value": "prod"}]}`)
	if err := AddLabels(tpl, "app=cli,env=${ENV}"); err != nil {
		t.Fatal(err)
	}
	mustProcessTemplate(t, tpl)
	want := map[string]interface{}{"kind": "Service", "apiVersion": "v1",
		"metadata": map[string]interface{}{"labels": map[string]interface{}{"app": "cli", "env": "prod"}}}
	if diff := cmp.Diff(want, objectValue(t, tpl, 0)); diff != "" {
		t.Errorf("object (-want +got):\n%s", diff)
	}
}

func TestParseTemplateRef(t *testing.T) {
	cases := map[string]struct {
		ref                     string
		wantNamespace, wantName string
		wantErr                 string
	}{
		"a name":                    {ref: "mytemplate", wantNamespace: "current", wantName: "mytemplate"},
		"template/name":             {ref: "template/mytemplate", wantNamespace: "current", wantName: "mytemplate"},
		"templates/name":            {ref: "templates/mytemplate", wantNamespace: "current", wantName: "mytemplate"},
		"ns//name":                  {ref: "openshift//mytemplate", wantNamespace: "openshift", wantName: "mytemplate"},
		"ns/template/name":          {ref: "openshift/template/mytemplate", wantNamespace: "openshift", wantName: "mytemplate"},
		"spaces around are trimmed": {ref: " mytemplate ", wantNamespace: "current", wantName: "mytemplate"},
		"//name has an empty namespace, as in oc": {ref: "//mytemplate", wantNamespace: "", wantName: "mytemplate"},
		"another resource":                        {ref: "configmap/x", wantErr: `unable to process invalid resource "configmap"`},
		"no name":                                 {ref: "template/", wantErr: `invalid value syntax "template/"`},
		"too many parts":                          {ref: "a/b/c/d", wantErr: `invalid argument "a/b/c/d"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gotNamespace, gotName, err := ParseTemplateRef(tc.ref, "current")
			if errorText(err) != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if gotNamespace != tc.wantNamespace || gotName != tc.wantName {
				t.Errorf("ParseTemplateRef(%q) = %q, %q; want %q, %q", tc.ref, gotNamespace, gotName, tc.wantNamespace, tc.wantName)
			}
		})
	}
}

func TestToList(t *testing.T) {
	tpl := mustProcess(t, withObjects(values("N", "db"), `
		{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "${N}"}},
		{"kind": "Route", "apiVersion": "v1", "metadata": {"name": "${N}"}},
		{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "${N}"}}`))
	data, err := json.Marshal(ToList(tpl))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"List","apiVersion":"v1","metadata":{},"items":[` +
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"db"}},` +
		`{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"db"}},` +
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"}}]}`
	if string(data) != want {
		t.Errorf("List =\n%s\nwant\n%s", data, want)
	}
}

func TestToListOfATemplateWithoutObjects(t *testing.T) {
	data, err := json.Marshal(ToList(&templatev1.Template{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"List","apiVersion":"v1","metadata":{},"items":null}`; string(data) != want {
		t.Errorf("List = %s, want %s as oc prints it", data, want)
	}
}
