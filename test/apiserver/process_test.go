package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clitemplate "github.com/kubia-dev/kubia/internal/cli/template"
	"github.com/kubia-dev/kubia/test/harness"
)

// process runs `kubia process args...` in-process against the test cluster, as its
// admin, and returns its output and error.
func process(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCommand(t, clitemplate.NewProcessCommand, args...)
}

// runCommand runs the kubia command newCommand makes, with args, in-process against the
// test cluster, and returns its standard output and error; both outputs are logged.
func runCommand(t *testing.T, newCommand func(genericiooptions.IOStreams) *cobra.Command, args ...string) (string, error) {
	t.Helper()
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	cmd := newCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	cmd.SetArgs(append(args, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath()))
	cmd.SetOut(errOut)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(t.Context())
	t.Logf("kubia %s %s:\n%s%s", cmd.Name(), strings.Join(args, " "), out, errOut)
	return out.String(), err
}

func mustProcess(t *testing.T, args ...string) string {
	t.Helper()
	out, err := process(t, args...)
	if err != nil {
		t.Fatalf("kubia process %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// processedList is the List `kubia process` prints for databaseTemplate.
type processedList struct {
	APIVersion, Kind string
	Items            []map[string]any
}

// decodeDatabaseList checks that out is a v1 List of databaseTemplate's Secret and
// StatefulSet named name, processed, and returns the Secret's password.
func decodeDatabaseList(t *testing.T, out, name string) string {
	t.Helper()
	var list processedList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if list.APIVersion != "v1" || list.Kind != "List" || len(list.Items) != 2 {
		t.Fatalf("a %s %s of %d items, want a v1 List of 2:\n%s", list.APIVersion, list.Kind, len(list.Items), out)
	}
	for i, kind := range []string{"Secret", "StatefulSet"} {
		item := list.Items[i]
		meta := item["metadata"].(map[string]any)
		if item["kind"] != kind || meta["name"] != name || meta["namespace"] != nil || meta["labels"].(map[string]any)["template"] != "database" {
			t.Errorf("item %d: %v, want the %s %s, no namespace, labelled template=database", i, item, kind, name)
		}
	}
	if replicas := list.Items[1]["spec"].(map[string]any)["replicas"]; replicas != 2.0 {
		t.Errorf("${{REPLICAS}}: %v, want the number 2", replicas)
	}
	return list.Items[0]["stringData"].(map[string]any)["password"].(string)
}

// `kubia process` processes a stored template and a file through kubia-apiserver's
// processedtemplates, as `oc process` does, and stores nothing.
func TestProcessCommand(t *testing.T) {
	ns := harness.Namespace(t)
	other := harness.Namespace(t)
	c := templateClient(t, harness.Get(t).Config, runtime.ContentTypeJSON)
	var stored templatev1.Template
	do(t, c.Post().Namespace(ns).Resource("templates").Body(databaseTemplate(t, "database")), &stored)

	// A stored template, by each form of reference; generated on the server each time.
	generated := regexp.MustCompile(`^[a-zA-Z0-9]{16}$`)
	var passwords []string
	for _, args := range [][]string{
		{"database", "-n", ns},
		{"template/database", "-n", ns},
		{"templates/database", "-n", ns},
		{ns + "//database", "-n", other},
		{ns + "/template/database", "-n", other},
	} {
		password := decodeDatabaseList(t, mustProcess(t, append(args, "DATABASE_NAME=orders")...), "orders")
		if !generated.MatchString(password) || slices.Contains(passwords, password) {
			t.Errorf("%v: password %q, want 16 of [a-zA-Z0-9], new each time (had %v)", args, password, passwords)
		}
		passwords = append(passwords, password)
	}

	// A file, with -p: a value given switches generation off, even an empty one.
	tpl := databaseTemplate(t, "database")
	tpl.TypeMeta = metav1.TypeMeta{APIVersion: "template.openshift.io/v1", Kind: "Template"}
	file := filepath.Join(t.TempDir(), "template.json")
	if data, err := json.Marshal(tpl); err != nil || os.WriteFile(file, data, 0o600) != nil {
		t.Fatal(err)
	}
	if got := decodeDatabaseList(t, mustProcess(t, "-f", file, "-n", ns, "-p", "DATABASE_NAME=files", "-p", "PASSWORD=fixed"), "files"); got != "fixed" {
		t.Errorf("-p PASSWORD=fixed: password %q", got)
	}
	if got := decodeDatabaseList(t, mustProcess(t, "-f", file, "-n", ns, "-p", "DATABASE_NAME=files", "-p", "PASSWORD="), "files"); got != "" {
		t.Errorf("-p PASSWORD=: password %q, want it empty, not generated", got)
	}
	if out := mustProcess(t, "-f", file, "-n", ns, "DATABASE_NAME=files", "-o", "name"); out != "secret/files\nstatefulset.apps/files\n" {
		t.Errorf("-o name: %q", out)
	}

	// The server and --local print the same List, byte for byte, once nothing is random.
	fixed := []string{"-f", file, "-n", ns, "DATABASE_NAME=same", "PASSWORD=same", "-l", "app=shop"}
	if server, local := mustProcess(t, fixed...), mustProcess(t, append(fixed, "--local")...); server != local {
		t.Errorf("the server printed:\n%s\n--local printed:\n%s", server, local)
	}

	// The server's refusal, as oc shows it: the parameter at fault.
	_, err := process(t, "database", "-n", ns)
	want := "unable to process template\n  Required value: template.parameters[0]: parameter DATABASE_NAME is required and must be specified"
	if err == nil || err.Error() != want {
		t.Errorf("a required parameter left empty:\n%v\nwant:\n%s", err, want)
	}
	if _, err := process(t, "nosuch", "-n", ns); err == nil || err.Error() != `template "nosuch" could not be found` {
		t.Errorf("a template that does not exist: %v", err)
	}
	if _, err := process(t, "database", "-n", ns, "NOPE=1"); err == nil || err.Error() != `unknown parameter name "NOPE"` {
		t.Errorf("an unknown parameter: %v", err)
	}

	// Nothing was stored: the one Template, no Secret, no StatefulSet.
	var templates templatev1.TemplateList
	do(t, c.Get().Namespace(ns).Resource("templates"), &templates)
	if len(templates.Items) != 1 || templates.Items[0].ResourceVersion != stored.ResourceVersion {
		t.Errorf("%d Templates stored, want the one created, unchanged", len(templates.Items))
	}
	k := harness.Get(t).Client
	for _, namespace := range []string{ns, other} {
		var secrets corev1.SecretList
		var statefulSets appsv1.StatefulSetList
		if err := k.List(t.Context(), &secrets, client.InNamespace(namespace)); err != nil {
			t.Fatal(err)
		}
		if err := k.List(t.Context(), &statefulSets, client.InNamespace(namespace)); err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets.Items {
			if s.Type != corev1.SecretTypeServiceAccountToken {
				t.Errorf("processing created Secret %s/%s", namespace, s.Name)
			}
		}
		if len(statefulSets.Items) != 0 {
			t.Errorf("processing created %d StatefulSets in %s", len(statefulSets.Items), namespace)
		}
	}
}

// A user without rights gets kube-apiserver's 403 as oc shows it, both for reading a
// stored template and for processing a file; granted `create processedtemplates`, the user
// processes. --as impersonates the user, as harness.ConfigAs does.
func TestProcessCommandNeedsRights(t *testing.T) {
	ns := harness.Namespace(t)
	c := templateClient(t, harness.Get(t).Config, runtime.ContentTypeJSON)
	do(t, c.Post().Namespace(ns).Resource("templates").Body(databaseTemplate(t, "database")), &templatev1.Template{})
	tpl := databaseTemplate(t, "database")
	tpl.TypeMeta = metav1.TypeMeta{APIVersion: "template.openshift.io/v1", Kind: "Template"}
	file := filepath.Join(t.TempDir(), "template.json")
	if data, err := json.Marshal(tpl); err != nil || os.WriteFile(file, data, 0o600) != nil {
		t.Fatal(err)
	}

	_, err := process(t, "database", "-n", ns, "DATABASE_NAME=orders", "--as", "alice")
	want := `templates.template.openshift.io "database" is forbidden: User "alice" cannot get resource "templates" in API group "template.openshift.io" in the namespace "` + ns + `"`
	if err == nil || err.Error() != want {
		t.Errorf("alice reads a stored template:\n%v\nwant:\n%s", err, want)
	}
	_, err = process(t, "-f", file, "-n", ns, "DATABASE_NAME=orders", "--as", "alice")
	want = "unable to process template\n" +
		`  processedtemplates.template.openshift.io is forbidden: User "alice" cannot create resource "processedtemplates" in API group "template.openshift.io" in the namespace "` + ns + `"`
	if err == nil || err.Error() != want {
		t.Errorf("alice processes a file:\n%v\nwant:\n%s", err, want)
	}

	grant(t, ns, "alice", rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName}, Resources: []string{"processedtemplates"}, Verbs: []string{"create"}})
	harness.Eventually(t, 30*time.Second, "alice may process templates", func(context.Context) error {
		_, err := process(t, "-f", file, "-n", ns, "DATABASE_NAME=orders", "--as", "alice", "-o", "name")
		return err
	})
}
