package template_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	templatev1 "github.com/openshift/api/template/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubia-dev/kubia/internal/cli/template"
	"github.com/kubia-dev/kubia/internal/goldenfile"
)

// result is what one run of `kubia process` printed and returned.
type result struct {
	out, errOut string
	err         error
}

// run runs `kubia process args...` with stdin as its standard input, where no kubeconfig
// exists: only --local (or --server) can work.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	noKubeconfig(t)
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	cmd := template.NewProcessCommand(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: out, ErrOut: errOut})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(t.Context())
	t.Logf("kubia process %s:\n%s%s%v", strings.Join(args, " "), out, errOut, err)
	return result{out.String(), errOut.String(), err}
}

// noKubeconfig makes sure no kubeconfig of the machine is read.
func noKubeconfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	t.Setenv("HOME", dir)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, "", args...)
	if r.err != nil {
		t.Fatalf("kubia process %s: %v", strings.Join(args, " "), r.err)
	}
	return r.out
}

func testdata(name string) string { return filepath.Join("testdata", name) }

// --local prints exactly the List of the processed objects (golden files; go test -run
// Golden -update rewrites them). The password is set, since a generated one differs each
// time.
func TestProcessLocalGolden(t *testing.T) {
	db := testdata("database.yaml")
	cases := map[string][]string{
		"json":                {"-f", db, "-p", "DATABASE_NAME=orders", "-p", "PASSWORD=s3cret"},
		"yaml-labels":         {"-f", db, "DATABASE_NAME=orders", "PASSWORD=s3cret", "-l", "app=shop,template=mine", "-o", "yaml"},
		"name":                {"-f", db, "DATABASE_NAME=orders", "-o", "name"},
		"param-file":          {"-f", db, "--param-file", testdata("params.env"), "-p", "PASSWORD=s3cret"},
		"ignore-unknown":      {"-f", db, "DATABASE_NAME=orders", "PASSWORD=", "NOT_A_PARAM=x", "--ignore-unknown-parameters"},
		"first-of-a-list":     {"-f", testdata("list.yaml")},
		"legacy-first-of-two": {"-f", testdata("two.yaml"), "-o", "yaml"},
		"parameters":          {"-f", db, "--parameters"},
		"jsonpath":            {"-f", db, "DATABASE_NAME=orders", "-o", "jsonpath={.items[*].metadata.name}"},
		"namespace-stripped":  {"-f", db, "DATABASE_NAME=orders", "PASSWORD=s3cret", "-n", "other", "-o", "yaml"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			got := mustRun(t, append(args, "--local")...)
			goldenfile.Check(t, filepath.Join("testdata", name+".golden"), got)
		})
	}
}

// A generated value is generated unless a value is given; a value given, even an empty one,
// switches generation off.
func TestProcessGeneration(t *testing.T) {
	password := func(out string) string {
		var list struct {
			Items []struct{ StringData map[string]string }
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 2 {
			t.Fatalf("not a List of 2: %v\n%s", err, out)
		}
		return list.Items[0].StringData["password"]
	}
	db := testdata("database.yaml")
	if got := password(mustRun(t, "--local", "-f", db, "DATABASE_NAME=x")); !regexp.MustCompile(`^[a-zA-Z0-9]{16}$`).MatchString(got) {
		t.Errorf("generated password %q, want 16 of [a-zA-Z0-9]", got)
	}
	if got := password(mustRun(t, "--local", "-f", db, "DATABASE_NAME=x", "-p", "PASSWORD=")); got != "" {
		t.Errorf("-p PASSWORD= gave %q, want it empty, not generated", got)
	}
	if got := password(mustRun(t, "--local", "-f", db, "DATABASE_NAME=x", "PASSWORD=given")); got != "given" {
		t.Errorf("PASSWORD=given gave %q", got)
	}
}

// Standard input is read for -f - and --param-file - alike.
func TestProcessStdin(t *testing.T) {
	tpl, err := os.ReadFile(testdata("database.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(tpl), "--local", "-f", "-", "DATABASE_NAME=from-stdin", "-o", "name")
	if r.err != nil || r.out != "secret/from-stdin\nstatefulset.apps/from-stdin\n" {
		t.Errorf("-f -: %q, %v", r.out, r.err)
	}
	r = run(t, "DATABASE_NAME=stdin-param\n", "--local", "-f", testdata("database.yaml"), "--param-file", "-", "-o", "name")
	if r.err != nil || r.out != "secret/stdin-param\nstatefulset.apps/stdin-param\n" {
		t.Errorf("--param-file -: %q, %v", r.out, r.err)
	}
}

// oc's warnings go to stderr; the output stays a List that kubectl create -f - takes.
func TestProcessWarnings(t *testing.T) {
	db := testdata("database.yaml")
	cases := map[string]struct {
		args []string
		want string
	}{
		"a -p value that looks like a comma-separated list": {
			args: []string{"-f", db, "-p", "DATABASE_NAME=a,PASSWORD=b"},
			want: `warning: --param no longer accepts comma-separated lists of values. "DATABASE_NAME=a,PASSWORD=b" will be treated as a single key-value pair.` + "\n",
		},
		"a positional one is warned about only when -p is given": {
			args: []string{"-f", db, "DATABASE_NAME=a,PASSWORD=b"},
		},
		"a parameter file's value for a parameter given": {
			args: []string{"-f", db, "DATABASE_NAME=cli", "--param-file", testdata("params.env")},
			want: `warning: Template parameter "DATABASE_NAME" already defined, ignoring value from file "testdata/params.env"` + "\n",
		},
		"several templates": {
			args: []string{"-f", testdata("two.yaml")},
			want: "2 input templates found, but only the first will be processed\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := run(t, "", append(tc.args, "--local")...)
			if r.err != nil || !strings.HasPrefix(r.out, "{\n") {
				t.Fatalf("want a List on stdout: %v\n%s", r.err, r.out)
			}
			if r.errOut != tc.want {
				t.Errorf("stderr %q, want %q", r.errOut, tc.want)
			}
		})
	}
}

// Wrong command lines, parameters and templates fail with oc's messages, before any
// output.
func TestProcessErrors(t *testing.T) {
	db := testdata("database.yaml")
	usage := "\nSee 'process -h' for help and examples"
	cases := map[string]struct {
		args []string
		want string
	}{
		"parameters given twice": {
			args: []string{"-f", db, "-p", "A=1", "-p", "B=1", "A=2", "B=3"},
			want: "The following parameters were provided more than once: A, B" + usage,
		},
		"a parameter given twice is reported before a missing template": {
			args: []string{"-p", "A=1", "A=2"},
			want: "The following parameters were provided more than once: A" + usage,
		},
		"an unknown parameter": {
			args: []string{"-f", db, "DATABASE_NAME=x", "-p", "NOPE=1"},
			want: `unknown parameter name "NOPE"`,
		},
		"unknown parameters, one per line": {
			args: []string{"-f", db, "-p", "NOPE=1", "ALSO_NOT=2"},
			want: `unknown parameter name "NOPE"` + "\n" + `unknown parameter name "ALSO_NOT"`,
		},
		"an invalid assignment": {
			args: []string{"-f", db, "-p", "1A=x"},
			want: `invalid parameter assignment in "1A=x", [a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')]`,
		},
		"an assignment without a value": {
			args: []string{"-f", db, "-p", "DATABASE_NAME"},
			want: `invalid parameter assignment in "DATABASE_NAME", []`,
		},
		"an invalid assignment is reported after the template is read": {
			args: []string{"-f", "nosuch.yaml", "-p", "1A=x"},
			want: `failed to read input object (not a Template?): the path "nosuch.yaml" does not exist`,
		},
		"a required parameter left empty": {
			args: []string{"-f", db},
			want: `The Template "database" is invalid: template.parameters[0]: Required value: template.parameters[0]: parameter DATABASE_NAME is required and must be specified`,
		},
		"two template names": {
			args: []string{"one", "two"},
			want: "template name must be specified only once: two" + usage,
		},
		"a stored template with --local": {
			args: []string{"mytemplate"},
			want: "You may only specify a local template file via -f when running this command with --local" + usage,
		},
		"no template": {
			args: []string{"A=1"},
			want: "Must pass a filename or name of stored template" + usage,
		},
		"--parameters with -p": {
			args: []string{"-f", db, "--parameters", "-p", "A=1"},
			want: "The --parameters flag does not process the template, can't be used with --param" + usage,
		},
		"--parameters with -o": {
			args: []string{"-f", db, "--parameters", "-o", "yaml"},
			want: "The --parameters flag does not process the template, can't be used with --output" + usage,
		},
		"a file that is not a template": {
			args: []string{"-f", testdata("configmap.yaml")},
			want: `unable to parse "testdata/configmap.yaml", not a valid Template but *v1.ConfigMap`,
		},
		"a file of an unknown kind": {
			args: []string{"-f", "-"},
			want: `failed to read input object (not a Template?): unable to decode "STDIN": no kind "Widget" is registered for version "example.com/v1"`,
		},
		"bad labels": {
			args: []string{"-f", db, "DATABASE_NAME=x", "-l", "app"},
			want: "error parsing labels: unexpected label spec: app",
		},
		"a missing parameter file": {
			args: []string{"-f", db, "--param-file", "nosuch.env"},
			want: `Cannot stat "nosuch.env": stat nosuch.env: no such file or directory`,
		},
		"an output format that does not exist": {
			args: []string{"-f", db, "-o", "table"},
			want: `unable to match a printer suitable for the output format "table"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := run(t, "apiVersion: example.com/v1\nkind: Widget\n", append(tc.args, "--local")...)
			if r.err == nil || !strings.HasPrefix(r.err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to start with:\n%s", r.err, tc.want)
			}
			if r.out != "" {
				t.Errorf("printed %q", r.out)
			}
		})
	}
}

// Several invalid causes are listed one per line, as kubectl lists them.
func TestProcessLocalInvalidCauses(t *testing.T) {
	tpl := `{"apiVersion":"template.openshift.io/v1","kind":"Template","metadata":{"name":"t"},
		"parameters":[{"name":"A","required":true},{"name":"B","generate":"random"}]}`
	r := run(t, tpl, "--local", "-f", "-")
	want := `The Template "t" is invalid: ` + "\n" +
		`* template.parameters[0]: Required value: template.parameters[0]: parameter A is required and must be specified` + "\n" +
		`* template.parameters[1]: Invalid value: "random": Unknown generator name 'random' for parameter B`
	if r.err == nil || r.err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", r.err, want)
	}
	if !apierrors.IsInvalid(r.err) {
		t.Errorf("the error is not an Invalid StatusError underneath: %T", r.err)
	}
}

// fakeServer answers processedtemplates and templates as kubia-apiserver would, or with the
// error status set, and records the requests.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	posted   *templatev1.Template
	status   *metav1.Status
}

func newFakeServer(t *testing.T, stored *templatev1.Template) *fakeServer {
	s := &fakeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		answer := func(code int, body any) {
			w.WriteHeader(code)
			if err := json.NewEncoder(w).Encode(body); err != nil {
				t.Error(err)
			}
		}
		switch {
		case s.status != nil:
			s.status.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
			answer(int(s.status.Code), s.status)
		case r.Method == http.MethodGet && stored != nil && r.URL.Path == "/apis/template.openshift.io/v1/namespaces/"+stored.Namespace+"/templates/"+stored.Name:
			answer(http.StatusOK, stored)
		case r.Method == http.MethodGet:
			answer(http.StatusNotFound, apierrors.NewNotFound(schema.GroupResource{Group: "template.openshift.io", Resource: "templates"}, "x").Status())
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/processedtemplates"):
			s.posted = &templatev1.Template{}
			if err := json.NewDecoder(r.Body).Decode(s.posted); err != nil {
				t.Error(err)
			}
			processed := s.posted.DeepCopy()
			if len(processed.Objects) > 1 {
				processed.Objects = processed.Objects[:1] // marks the answer as the server's
			}
			answer(http.StatusCreated, processed)
		default:
			answer(http.StatusNotFound, map[string]string{})
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// Without --local the template is POSTed to the current namespace's processedtemplates,
// forced into that namespace, with the parameters and labels set; the answer is printed.
func TestProcessOnTheServer(t *testing.T) {
	db := testdata("database.yaml")
	s := newFakeServer(t, nil)
	out := mustRun(t, "-f", db, "--server", s.URL, "-n", "shop", "DATABASE_NAME=orders", "-p", "PASSWORD=", "-l", "app=shop", "-o", "name")
	if out != "secret/${DATABASE_NAME}\n" {
		t.Errorf("output %q, want the server's answer (its one object)", out)
	}
	if diff := cmp.Diff([]string{"POST /apis/template.openshift.io/v1/namespaces/shop/processedtemplates"}, s.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	p := s.posted
	if p == nil {
		t.Fatal("nothing posted")
	}
	if p.Namespace != "shop" || p.Parameters[0].Value != "orders" || p.Parameters[1].Value != "" || p.Parameters[1].Generate != "" || p.ObjectLabels["app"] != "shop" {
		t.Errorf("posted: namespace %q, parameters %+v, labels %v", p.Namespace, p.Parameters, p.ObjectLabels)
	}
}

// --local contacts no server, even one given.
func TestProcessLocalContactsNoServer(t *testing.T) {
	s := newFakeServer(t, nil)
	mustRun(t, "--local", "-f", testdata("database.yaml"), "--server", s.URL, "DATABASE_NAME=x")
	if len(s.requests) != 0 {
		t.Errorf("--local sent %v", s.requests)
	}
}

// A stored template is read from the namespace its reference names, then processed in the
// current one.
func TestProcessAStoredTemplate(t *testing.T) {
	stored := &templatev1.Template{
		TypeMeta:   metav1.TypeMeta{APIVersion: "template.openshift.io/v1", Kind: "Template"},
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "openshift"},
		Parameters: []templatev1.Parameter{{Name: "NAME"}},
	}
	for _, ref := range []string{"openshift//db", "openshift/template/db", "openshift/templates/db"} {
		t.Run(ref, func(t *testing.T) {
			s := newFakeServer(t, stored)
			r := run(t, "", ref, "NAME=x", "--server", s.URL, "-n", "shop")
			if r.err != nil {
				t.Fatal(r.err)
			}
			want := []string{"GET /apis/template.openshift.io/v1/namespaces/openshift/templates/db", "POST /apis/template.openshift.io/v1/namespaces/shop/processedtemplates"}
			if diff := cmp.Diff(want, s.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if s.posted.Namespace != "shop" || s.posted.Parameters[0].Value != "x" {
				t.Errorf("posted namespace %q, parameters %+v", s.posted.Namespace, s.posted.Parameters)
			}
		})
	}
	t.Run("--parameters reads only", func(t *testing.T) {
		s := newFakeServer(t, stored)
		r := run(t, "", "openshift//db", "--parameters", "--server", s.URL)
		if r.err != nil || !strings.HasPrefix(r.out, "NAME ") || len(s.requests) != 1 {
			t.Errorf("%v, %q, requests %v", r.err, r.out, s.requests)
		}
	})
	for ref, want := range map[string]string{
		"nosuch":          `template "nosuch" could not be found`,
		"route/db":        `unable to process invalid resource "route"`,
		"template/":       `invalid value syntax "template/"`,
		"a/template/db/x": `invalid argument "a/template/db/x"`,
	} {
		t.Run(ref, func(t *testing.T) {
			s := newFakeServer(t, stored)
			if r := run(t, "", ref, "--server", s.URL, "-n", "openshift"); r.err == nil || r.err.Error() != want {
				t.Errorf("error %v, want %q", r.err, want)
			}
		})
	}
}

// The server's refusals read as oc shows them: each cause of a 422, or the message of an
// error without causes.
func TestProcessServerErrors(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "template.openshift.io", Kind: "Template"}, "database", field.ErrorList{
		field.Required(field.NewPath("template.parameters[0]"), "template.parameters[0]: parameter DATABASE_NAME is required and must be specified"),
		field.Invalid(field.NewPath("template.parameters[1]"), "random", "Unknown generator name 'random' for parameter PASSWORD"),
	}).Status()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "template.openshift.io", Resource: "processedtemplates"}, "",
		errString(`User "alice" cannot create resource "processedtemplates" in API group "template.openshift.io" in the namespace "shop"`)).Status()
	noDetails := metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError, Message: "etcd is down"}
	cases := map[string]struct {
		status    metav1.Status
		want      string
		forbidden bool
	}{
		"422 with causes": {status: invalid, want: "unable to process template\n" +
			"  Required value: template.parameters[0]: parameter DATABASE_NAME is required and must be specified\n" +
			`  Invalid value: "random": Unknown generator name 'random' for parameter PASSWORD`},
		"403": {status: forbidden, forbidden: true, want: "unable to process template\n" +
			`  processedtemplates.template.openshift.io is forbidden: User "alice" cannot create resource "processedtemplates" in API group "template.openshift.io" in the namespace "shop"`},
		"no details": {status: noDetails, want: "unable to process template: etcd is down"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newFakeServer(t, nil)
			s.status = &tc.status
			r := run(t, "", "-f", testdata("database.yaml"), "--server", s.URL, "-n", "shop")
			if r.err == nil || r.err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", r.err, tc.want)
			}
			if apierrors.IsForbidden(r.err) != tc.forbidden {
				t.Errorf("IsForbidden = %v", !tc.forbidden)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// -f reads URLs too.
func TestProcessURL(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer srv.Close()
	r := run(t, "", "--local", "-f", srv.URL+"/database.yaml", "DATABASE_NAME=web", "-o", "name")
	if r.err != nil || r.out != "secret/web\nstatefulset.apps/web\n" {
		t.Errorf("%q, %v", r.out, r.err)
	}
	r = run(t, "", "--local", "-f", srv.URL+"/nosuch.yaml")
	if want := `failed to read input object (not a Template?): unable to read URL "` + srv.URL + `/nosuch.yaml", server reported 404 Not Found, status code=404`; r.err == nil || r.err.Error() != want {
		t.Errorf("%v, want %s", r.err, want)
	}
}

// -f of a directory reads its .json, .yaml and .yml files in name order, not its
// subdirectories; an empty file is an error, not a crash as in oc.
func TestProcessDirectoryAndEmptyFile(t *testing.T) {
	dir := t.TempDir()
	tpl, err := os.ReadFile(testdata("database.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"a.yaml":       string(tpl),
		"b.json":       `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"}}`,
		"c.txt":        "not read",
		"sub/d.yaml":   "not: read",
		"empty/e.yaml": "# only a comment\n---\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, "", "--local", "-f", dir, "DATABASE_NAME=dir", "-o", "name")
	if r.err != nil || r.out != "secret/dir\nstatefulset.apps/dir\n" || r.errOut != "2 input templates found, but only the first will be processed\n" {
		t.Errorf("a directory: %v, %q, %q", r.err, r.out, r.errOut)
	}
	empty := filepath.Join(dir, "empty", "e.yaml")
	if r := run(t, "", "--local", "-f", empty); r.err == nil || r.err.Error() != "no objects passed to process" {
		t.Errorf("an empty file: %v", r.err)
	}
}
