package apiserver_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/kubia-dev/kubia/test/harness"
)

// templateClient reads and writes template.openshift.io/v1 as OpenShift's Go types,
// sending and accepting contentType.
func templateClient(t testing.TB, cfg *rest.Config, contentType string) *rest.RESTClient {
	t.Helper()
	scheme := runtime.NewScheme()
	scheme.AddKnownTypes(templatev1.GroupVersion, &templatev1.Template{}, &templatev1.TemplateList{},
		&templatev1.TemplateInstance{}, &templatev1.TemplateInstanceList{})
	metav1.AddToGroupVersion(scheme, templatev1.GroupVersion)
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/apis"
	cfg.GroupVersion = &templatev1.GroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	cfg.ContentType, cfg.AcceptContentTypes = contentType, contentType
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// object is a template object as it is written in a template file.
func object(t testing.TB, v map[string]any) runtime.RawExtension {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: raw}
}

// databaseTemplate is shaped like OpenShift's catalog templates: a generated password,
// a required parameter, a hard-coded namespace, and labels for every object.
func databaseTemplate(t testing.TB, name string) *templatev1.Template {
	return &templatev1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"description": "A database.\nSecond line."}},
		Message:    "Password: ${PASSWORD}",
		Parameters: []templatev1.Parameter{
			{Name: "DATABASE_NAME", Required: true},
			{Name: "PASSWORD", Generate: "expression", From: "[a-zA-Z0-9]{16}"},
			{Name: "REPLICAS", Value: "2"},
		},
		ObjectLabels: map[string]string{"template": "database"},
		Objects: []runtime.RawExtension{
			object(t, map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata":   map[string]any{"name": "${DATABASE_NAME}", "namespace": "hard-coded"},
				"stringData": map[string]any{"password": "${PASSWORD}"}}),
			object(t, map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet",
				"metadata": map[string]any{"name": "${DATABASE_NAME}"},
				"spec":     map[string]any{"replicas": "${{REPLICAS}}", "selector": map[string]any{"matchLabels": map[string]any{"app": "db"}}}}),
		},
	}
}

// Templates are stored, listed, watched and printed through the aggregator as on
// OpenShift (`oc get templates`' columns), and invalid ones are refused naming the field.
func TestTemplates(t *testing.T) {
	ns := harness.Namespace(t)
	c := templateClient(t, harness.Get(t).Config, runtime.ContentTypeJSON)
	var list templatev1.TemplateList
	do(t, c.Get().Namespace(ns).Resource("templates"), &list)
	w, err := c.Get().Namespace(ns).Resource("templates").Param("watch", "true").Param("resourceVersion", list.ResourceVersion).Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	var created templatev1.Template
	do(t, c.Post().Namespace(ns).Resource("templates").Body(databaseTemplate(t, "database")), &created)
	if len(created.Objects) != 2 || created.Parameters[1].Value != "" {
		t.Errorf("stored Template: %d objects, PASSWORD %q; want 2 objects and nothing generated", len(created.Objects), created.Parameters[1].Value)
	}
	select {
	case ev := <-w.ResultChan():
		if got, ok := ev.Object.(*templatev1.Template); ev.Type != watch.Added || !ok || got.Name != "database" {
			t.Errorf("watch: %s %T, want ADDED database", ev.Type, ev.Object)
		}
	case <-time.After(30 * time.Second):
		t.Error("watch: no event for the created Template")
	}

	out := harness.Kubectl(t, "get", "templates.template.openshift.io", "-n", ns)
	want := regexp.MustCompile(`(?m)^NAME\s+DESCRIPTION\s+PARAMETERS\s+OBJECTS\s*\ndatabase\s+A database\.\.\.\.\s+3 \(1 blank\)\s+2\s*$`)
	if !want.MatchString(out) {
		t.Errorf("kubectl get templates:\n%s\nwant OpenShift's columns: database, A database...., 3 (1 blank), 2", out)
	}

	if out := harness.Kubectl(t, "explain", "templates.template.openshift.io.parameters.generate"); !strings.Contains(out, "expression") {
		t.Errorf("kubectl explain templates.parameters.generate:\n%s\nwant OpenShift's description", out)
	}

	bad := databaseTemplate(t, "bad")
	bad.Parameters = append(bad.Parameters, templatev1.Parameter{Name: "my-param"}, templatev1.Parameter{})
	err = c.Post().Namespace(ns).Resource("templates").Body(bad).Do(t.Context()).Error()
	for _, part := range []string{`parameters[3].name: Invalid value: "my-param": does not match ^[a-zA-Z0-9_]+$`, `parameters[4].name: Required value`} {
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), part) {
			t.Errorf("invalid Template: %v, want 422 with %q", err, part)
		}
	}
}

// processedtemplates returns the Template processed as OpenShift does, stores nothing,
// and answers failed processing with 422 naming the parameter.
func TestProcessedTemplates(t *testing.T) {
	ns := harness.Namespace(t)
	c := templateClient(t, harness.Get(t).Config, runtime.ContentTypeJSON)
	tpl := databaseTemplate(t, "database")
	tpl.Parameters[0].Value = "orders"
	var processed templatev1.Template
	do(t, c.Post().Namespace(ns).Resource("processedtemplates").Body(tpl), &processed)

	password := processed.Parameters[1].Value
	if !regexp.MustCompile(`^[a-zA-Z0-9]{16}$`).MatchString(password) || processed.Message != "Password: "+password {
		t.Errorf("generated PASSWORD %q, message %q: want 16 characters of [a-zA-Z0-9], in the message", password, processed.Message)
	}
	var secret, statefulSet map[string]any
	if len(processed.Objects) != 2 || json.Unmarshal(processed.Objects[0].Raw, &secret) != nil || json.Unmarshal(processed.Objects[1].Raw, &statefulSet) != nil {
		t.Fatalf("processed objects: %s", processed.Objects)
	}
	meta := secret["metadata"].(map[string]any)
	if meta["name"] != "orders" || meta["namespace"] != nil || meta["labels"].(map[string]any)["template"] != "database" {
		t.Errorf("processed Secret's metadata: %v, want name orders, no namespace, label template=database", meta)
	}
	if got := secret["stringData"].(map[string]any)["password"]; got != password {
		t.Errorf("Secret's password %v, want the generated %q", got, password)
	}
	if got := statefulSet["spec"].(map[string]any)["replicas"]; got != 2.0 {
		t.Errorf("${{REPLICAS}}: %v (%T), want the number 2", got, got)
	}

	var stored templatev1.TemplateList
	do(t, c.Get().Namespace(ns).Resource("templates"), &stored)
	if len(stored.Items) != 0 {
		t.Errorf("processing stored %d Templates, want none", len(stored.Items))
	}
	if err := c.Get().Namespace(ns).Resource("processedtemplates").Do(t.Context()).Error(); !apierrors.IsMethodNotSupported(err) && !apierrors.IsNotFound(err) {
		t.Errorf("GET processedtemplates: %v, want it not served", err)
	}

	// As the README shows it, with kubectl.
	tpl.TypeMeta = metav1.TypeMeta{APIVersion: "template.openshift.io/v1", Kind: "Template"}
	file := filepath.Join(t.TempDir(), "template.json")
	if data, err := json.Marshal(tpl); err != nil || os.WriteFile(file, data, 0o600) != nil {
		t.Fatal(err)
	}
	out := harness.Kubectl(t, "create", "--raw", "/apis/template.openshift.io/v1/namespaces/"+ns+"/processedtemplates", "-f", file)
	if !strings.Contains(out, `"name":"orders"`) {
		t.Errorf("kubectl create --raw processedtemplates: %s, want the processed objects", out)
	}

	missing := databaseTemplate(t, "database")
	err := c.Post().Namespace(ns).Resource("processedtemplates").Body(missing).Do(t.Context()).Error()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "parameter DATABASE_NAME is required and must be specified") {
		t.Errorf("a required parameter left empty: %v, want 422 naming DATABASE_NAME", err)
	}
}

// A processed Template answered in protobuf carries its objects, processed: a
// RawExtension's protobuf encoding has only its bytes, which the Template's nested
// encoding must fill from the processed values.
func TestProcessedTemplatesInProtobuf(t *testing.T) {
	ns := harness.Namespace(t)
	c := templateClient(t, harness.Get(t).Config, runtime.ContentTypeProtobuf)
	tpl := databaseTemplate(t, "database")
	tpl.Parameters[0].Value = "orders"
	var processed templatev1.Template
	if mediaType := do(t, c.Post().Namespace(ns).Resource("processedtemplates").Body(tpl), &processed); mediaType != runtime.ContentTypeProtobuf {
		t.Errorf("answered in %q, want protobuf", mediaType)
	}
	if len(processed.Objects) != 2 || !strings.Contains(string(processed.Objects[0].Raw), `"name":"orders"`) {
		t.Errorf("objects in protobuf: %q, want both, processed", processed.Objects)
	}
}

// Processing a Template takes the right to create processedtemplates, checked by
// kube-apiserver's RBAC through delegated authorization.
func TestProcessedTemplatesNeedRights(t *testing.T) {
	ns := harness.Namespace(t)
	alice := templateClient(t, harness.ConfigAs(t, "alice"), runtime.ContentTypeJSON)
	tpl := databaseTemplate(t, "database")
	tpl.Parameters[0].Value = "orders"
	err := alice.Post().Namespace(ns).Resource("processedtemplates").Body(tpl).Do(t.Context()).Error()
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"alice"`) {
		t.Fatalf("alice processes without a Role: %v, want Forbidden", err)
	}
	grant(t, ns, "alice", rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName}, Resources: []string{"processedtemplates"}, Verbs: []string{"create"}})
	harness.Eventually(t, 30*time.Second, "alice may process templates", func(ctx context.Context) error {
		return alice.Post().Namespace(ns).Resource("processedtemplates").Body(tpl).Do(ctx).Error()
	})
}

// A TemplateInstance's requester is its creator unless the creator may "assign" it to
// someone else, as on OpenShift; its spec cannot change, its status only through the
// status subresource.
func TestTemplateInstanceRequester(t *testing.T) {
	ns := harness.Namespace(t)
	env := harness.Get(t)
	alice := templateClient(t, harness.ConfigAs(t, "alice", "system:authenticated", "team-a"), runtime.ContentTypeJSON)
	grant(t, ns, "alice", rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName}, Resources: []string{"templateinstances"}, Verbs: []string{"create", "get", "update"}})

	instance := func(name string, requester *templatev1.TemplateInstanceRequester) *templatev1.TemplateInstance {
		return &templatev1.TemplateInstance{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       templatev1.TemplateInstanceSpec{Template: *databaseTemplate(t, "database"), Requester: requester},
		}
	}
	var own templatev1.TemplateInstance
	harness.Eventually(t, 30*time.Second, "alice may create TemplateInstances", func(ctx context.Context) error {
		return alice.Post().Namespace(ns).Resource("templateinstances").Body(instance("own", nil)).Do(ctx).Into(&own)
	})
	if r := own.Spec.Requester; r == nil || r.Username != "alice" || !strings.Contains(strings.Join(r.Groups, ","), "team-a") {
		t.Errorf("requester %+v, want alice with her groups", r)
	}

	err := alice.Post().Namespace(ns).Resource("templateinstances").Body(instance("for-bob", &templatev1.TemplateInstanceRequester{Username: "bob"})).Do(t.Context()).Error()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.requester.username: Forbidden: you do not have permission to set username") {
		t.Errorf("alice names bob without assign: %v, want OpenShift's Forbidden on spec.requester.username", err)
	}
	grant(t, ns, "alice", rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName}, Resources: []string{"templateinstances"}, Verbs: []string{"assign"}})
	harness.Eventually(t, 30*time.Second, "alice may assign TemplateInstances", func(ctx context.Context) error {
		return alice.Post().Namespace(ns).Resource("templateinstances").Body(instance("for-bob", &templatev1.TemplateInstanceRequester{Username: "bob"})).Do(ctx).Error()
	})

	changed := own.DeepCopy()
	changed.Spec.Template.Message = "changed"
	err = alice.Put().Namespace(ns).Resource("templateinstances").Name("own").Body(changed).Do(t.Context()).Error()
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec: Forbidden: field is immutable") {
		t.Errorf("changing the spec: %v, want spec immutable", err)
	}

	admin := templateClient(t, env.Config, runtime.ContentTypeJSON)
	ready := own.DeepCopy()
	ready.Spec.Template.Message = "ignored through status"
	ready.Status.Conditions = []templatev1.TemplateInstanceCondition{{Type: templatev1.TemplateInstanceReady, Status: "True", Reason: "Created", LastTransitionTime: metav1.Now()}}
	var updated templatev1.TemplateInstance
	do(t, admin.Put().Namespace(ns).Resource("templateinstances").Name("own").SubResource("status").Body(ready), &updated)
	if len(updated.Status.Conditions) != 1 || updated.Spec.Template.Message != own.Spec.Template.Message {
		t.Errorf("status update: conditions %v, message %q; want the condition, the spec unchanged", updated.Status.Conditions, updated.Spec.Template.Message)
	}
	out := harness.Kubectl(t, "get", "templateinstances", "-n", ns, "own")
	if !regexp.MustCompile(`(?m)^NAME\s+TEMPLATE\s*\nown\s+database\s*$`).MatchString(out) {
		t.Errorf("kubectl get templateinstances:\n%s\nwant NAME TEMPLATE, own database", out)
	}
}
