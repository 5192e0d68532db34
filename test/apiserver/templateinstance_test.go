package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/controller/templateinstance"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

// templateInstanceKey is where the tests' controllers keep their key.
var templateInstanceKey = types.NamespacedName{Namespace: "kube-system", Name: "kubia-templateinstance-key"}

func startTemplateInstanceController(t *testing.T) {
	t.Helper()
	harness.StartControllers(t, manager.Options{TemplateInstances: true, TemplateInstanceKey: templateInstanceKey})
}

// clientAs is a client acting as user, with the manager's scheme.
func clientAs(t *testing.T, user string) client.Client {
	t.Helper()
	c, err := client.New(harness.ConfigAs(t, user), client.Options{Scheme: harness.Get(t).Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mayInstantiate lets user instantiate templates in ns: create TemplateInstances and
// process templates, read Secrets, and create what the rules say.
func mayInstantiate(t *testing.T, ns, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	grant(t, ns, user, rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName},
		Resources: []string{"templateinstances", "processedtemplates"}, Verbs: []string{"create", "get", "list", "watch", "delete"}})
	for _, rule := range rules {
		grant(t, ns, user, rule)
	}
}

var (
	writeConfigMaps = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "get", "delete"}}
	writeSecrets    = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get", "delete"}}
	writeBindings   = rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"rolebindings"}, Verbs: []string{"create", "get", "delete"}}
	bindView        = rbacv1.PolicyRule{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"}, Verbs: []string{"bind"}, ResourceNames: []string{"view"}}
)

// appTemplate holds a generated password in two objects, a parameter from the
// instance's Secret, a hard-coded namespace and a legacy v1 RoleBinding, as old
// OpenShift templates do.
func appTemplate(t *testing.T) templatev1.Template {
	return templatev1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Message:    "Password: ${PASSWORD}",
		Parameters: []templatev1.Parameter{
			{Name: "NAME", Required: true},
			{Name: "PASSWORD", Generate: "expression", From: "[a-zA-Z0-9]{16}"},
		},
		ObjectLabels: map[string]string{"template": "app"},
		Objects: []runtime.RawExtension{
			object(t, map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata":   map[string]any{"name": "${NAME}", "namespace": "openshift"},
				"stringData": map[string]any{"password": "${PASSWORD}"}}),
			object(t, map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "${NAME}-config"},
				"data":     map[string]any{"password": "${PASSWORD}"}}),
			object(t, map[string]any{"apiVersion": "v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": "${NAME}-view"},
				"roleRef":  map[string]any{"name": "view"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "default"}}}),
		},
	}
}

// paramSecret stores the instance's parameter values, as `oc new-app` and the web
// console do.
func paramSecret(t *testing.T, ns, name string, values map[string]string) *corev1.LocalObjectReference {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: values}
	if err := harness.Get(t).Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return &corev1.LocalObjectReference{Name: name}
}

func waitInstanceCondition(t *testing.T, ti *templatev1.TemplateInstance, typ templatev1.TemplateInstanceConditionType, reason string) templatev1.TemplateInstanceCondition {
	t.Helper()
	var found templatev1.TemplateInstanceCondition
	harness.WaitFor(t, ti, 2*time.Minute, fmt.Sprintf("the instance is %s (%s)", typ, reason), func() error {
		for _, c := range ti.Status.Conditions {
			if c.Type == typ && c.Status == corev1.ConditionTrue && c.Reason == reason {
				found = c
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", ti.Status.Conditions)
	})
	return found
}

// A TemplateInstance is instantiated as OpenShift does it: its objects made with the
// Secret's parameters and the generated ones, labelled with the instance, listed in its
// status, the legacy v1 RoleBinding made an RBAC one; deleting it deletes them.
func TestTemplateInstanceInstantiates(t *testing.T) {
	startTemplateInstanceController(t)
	ns := harness.Namespace(t)
	mayInstantiate(t, ns, "alice", writeConfigMaps, writeSecrets, writeBindings, bindView)
	ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: templatev1.TemplateInstanceSpec{Template: appTemplate(t), Secret: paramSecret(t, ns, "app-params", map[string]string{"NAME": "shop"})}}
	if err := clientAs(t, "alice").Create(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	waitInstanceCondition(t, ti, templatev1.TemplateInstanceReady, templateinstance.ReasonCreated)
	if ti.Spec.Requester == nil || ti.Spec.Requester.Username != "alice" {
		t.Errorf("requester %+v, want alice", ti.Spec.Requester)
	}
	if !slices.Contains(ti.Finalizers, templateinstance.Finalizer) {
		t.Errorf("finalizers %v, want %s", ti.Finalizers, templateinstance.Finalizer)
	}

	c := harness.Get(t).Client
	want := []corev1.ObjectReference{
		{Kind: "Secret", APIVersion: "v1", Namespace: ns, Name: "shop"},
		{Kind: "ConfigMap", APIVersion: "v1", Namespace: ns, Name: "shop-config"},
		{Kind: "RoleBinding", APIVersion: "rbac.authorization.k8s.io/v1", Namespace: ns, Name: "shop-view"},
	}
	if len(ti.Status.Objects) != len(want) {
		t.Fatalf("status.objects %+v, want %d", ti.Status.Objects, len(want))
	}
	for i, w := range want {
		got := ti.Status.Objects[i].Ref
		if got.UID == "" {
			t.Errorf("objects[%d] has no UID", i)
		}
		got.UID = ""
		if got != w {
			t.Errorf("objects[%d] = %+v, want %+v", i, got, w)
		}
	}
	secret, cm, binding := &corev1.Secret{}, &corev1.ConfigMap{}, &rbacv1.RoleBinding{}
	for obj, name := range map[client.Object]string{secret: "shop", cm: "shop-config", binding: "shop-view"} {
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			t.Fatal(err)
		}
		if obj.GetLabels()[templateinstance.OwnerLabel] != string(ti.UID) || obj.GetLabels()["template"] != "app" {
			t.Errorf("%s labels %v, want the owner label and the template's", name, obj.GetLabels())
		}
	}
	password := string(secret.Data["password"])
	if len(password) != 16 || cm.Data["password"] != password {
		t.Errorf("generated password %q in the Secret and %q in the ConfigMap, want one 16-character value", password, cm.Data["password"])
	}
	wantRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}
	wantSubject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "default"}
	if binding.RoleRef != wantRef || len(binding.Subjects) != 1 || binding.Subjects[0] != wantSubject {
		t.Errorf("RoleBinding %+v %+v, want %+v %+v", binding.RoleRef, binding.Subjects, wantRef, wantSubject)
	}

	if err := c.Delete(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 2*time.Minute, "the instance and its objects are gone", func(ctx context.Context) error {
		for obj, name := range map[client.Object]string{&templatev1.TemplateInstance{}: "app", &corev1.Secret{}: "shop", &corev1.ConfigMap{}: "shop-config", &rbacv1.RoleBinding{}: "shop-view"} {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T %s: %v", obj, name, err)
			}
		}
		return nil
	})
}

// The controller creates with the requester's rights, never its own: a requester who may
// not create one of the objects gets InstantiateFailure naming it and nothing at all; a
// kind the cluster does not serve is named too, and a name taken by an object the
// instance did not make is not adopted.
func TestTemplateInstanceRequesterRights(t *testing.T) {
	startTemplateInstanceController(t)
	ns := harness.Namespace(t)
	mayInstantiate(t, ns, "bob", writeConfigMaps) // no Secrets, no RoleBindings
	tpl := appTemplate(t)
	tpl.Parameters[0].Value = "shop"
	ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns}, Spec: templatev1.TemplateInstanceSpec{Template: tpl}}
	if err := clientAs(t, "bob").Create(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	failure := waitInstanceCondition(t, ti, templatev1.TemplateInstanceInstantiateFailure, templateinstance.ReasonFailed)
	for _, want := range []string{
		`unable to authorize user to create /v1, Resource=secrets, Name=shop`,
		`User "bob" cannot create resource "secrets"`,
		`unable to authorize user to create rbac.authorization.k8s.io/v1, Resource=rolebindings, Name=shop-view`,
	} {
		if !strings.Contains(failure.Message, want) {
			t.Errorf("InstantiateFailure message %q lacks %q", failure.Message, want)
		}
	}
	if strings.Contains(failure.Message, "configmaps") {
		t.Errorf("InstantiateFailure message %q names the ConfigMap bob may create", failure.Message)
	}
	err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop-config"}, &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap bob may create exists after the instance failed (%v): half an instance", err)
	}
	if len(ti.Status.Objects) != 0 {
		t.Errorf("status.objects %+v after a failure before creation", ti.Status.Objects)
	}

	cases := map[string]struct {
		object map[string]any
		want   string
	}{
		"a kind not served": {
			object: map[string]any{"apiVersion": "v1", "kind": "DeploymentConfig", "metadata": map[string]any{"name": "web"}, "spec": map[string]any{"replicas": 1}},
			want:   "unable to identify the resource mapping for apps.openshift.io/v1, Kind=DeploymentConfig",
		},
		// A legacy v1 Route is served now (route.openshift.io): bob lacks the right.
		"a kind the requester may not create": {
			object: map[string]any{"apiVersion": "v1", "kind": "Route", "metadata": map[string]any{"name": "web"}, "spec": map[string]any{"to": map[string]any{"name": "web"}}},
			want:   `User "bob" cannot create resource "routes" in API group "route.openshift.io"`,
		},
		"a name taken": {
			object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "taken"}},
			want:   `unable to create /v1, Resource=configmaps, Name=taken: configmaps "taken" already exists`,
		},
	}
	taken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns}}
	if err := harness.Get(t).Client.Create(t.Context(), taken); err != nil {
		t.Fatal(err)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: strings.ReplaceAll(name, " ", "-"), Namespace: ns},
				Spec: templatev1.TemplateInstanceSpec{Template: templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "one"}, Objects: []runtime.RawExtension{object(t, tc.object)}}}}
			if err := clientAs(t, "bob").Create(t.Context(), ti); err != nil {
				t.Fatal(err)
			}
			failure := waitInstanceCondition(t, ti, templatev1.TemplateInstanceInstantiateFailure, templateinstance.ReasonFailed)
			if !strings.Contains(failure.Message, tc.want) {
				t.Errorf("InstantiateFailure message %q lacks %q", failure.Message, tc.want)
			}
		})
	}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKeyFromObject(taken), taken); err != nil || taken.Labels[templateinstance.OwnerLabel] != "" {
		t.Errorf("the ConfigMap the instance did not make was changed: %v %v", err, taken.Labels)
	}
}

// An instance waits for the objects marked wait-for-ready: Ready False (Waiting) while
// a Deployment has not rolled out. There are no pods in this package's cluster, so it
// never does.
func TestTemplateInstanceWaitsForReady(t *testing.T) {
	startTemplateInstanceController(t)
	ns := harness.Namespace(t)
	mayInstantiate(t, ns, "dora", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "get", "delete"}})
	deployment := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "annotations": map[string]any{templateinstance.WaitForReadyAnnotation: "true"}},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "localhost/none:1"}}}}}}
	ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: templatev1.TemplateInstanceSpec{Template: templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Objects: []runtime.RawExtension{object(t, deployment)}}}}
	if err := clientAs(t, "dora").Create(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, ti, 2*time.Minute, "the instance waits for its Deployment", func() error {
		for _, c := range ti.Status.Conditions {
			if c.Type == templatev1.TemplateInstanceReady && c.Status == corev1.ConditionFalse && c.Reason == templateinstance.ReasonWaiting {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", ti.Status.Conditions)
	})
	if len(ti.Status.Objects) != 1 || ti.Status.Objects[0].Ref.UID == "" {
		t.Errorf("status.objects %+v, want the Deployment", ti.Status.Objects)
	}
}

// kubia-controller-manager killed (SIGKILL) while it creates an instance's objects: the
// next one finishes the instance without creating anything twice, keeps the objects
// made before the kill, and generates the same password for objects on both sides of it.
func TestTemplateInstanceSurvivesControllerKill(t *testing.T) {
	ns := harness.Namespace(t)
	mayInstantiate(t, ns, "erin", writeConfigMaps)
	const count = 300
	tpl := templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "many"},
		Parameters: []templatev1.Parameter{{Name: "PASSWORD", Generate: "expression", From: "[a-z0-9]{24}"}}}
	for i := range count {
		tpl.Objects = append(tpl.Objects, object(t, map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("cm-%03d", i)}, "data": map[string]any{"password": "${PASSWORD}"}}))
	}
	binary := harness.BuildCommand(t, "kubia-controller-manager")
	first := runControllerManager(t, binary)
	ti := &templatev1.TemplateInstance{ObjectMeta: metav1.ObjectMeta{Name: "many", Namespace: ns}, Spec: templatev1.TemplateInstanceSpec{Template: tpl}}
	if err := clientAs(t, "erin").Create(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	c := harness.Get(t).Client
	var before corev1.ConfigMapList
	harness.Eventually(t, 2*time.Minute, "the controller is creating the objects", func(ctx context.Context) error {
		if err := c.List(ctx, &before, client.InNamespace(ns)); err != nil {
			return err
		}
		if n := len(owned(before.Items, ti)); n < 10 {
			return fmt.Errorf("%d objects so far", n)
		}
		return nil
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if err := c.List(t.Context(), &before, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	made := owned(before.Items, ti)
	if len(made) == count {
		t.Fatalf("all %d objects existed when the controller was killed: the test killed it too late", count)
	}
	t.Logf("killed with %d of %d objects made", len(made), count)

	runControllerManager(t, binary)
	waitInstanceCondition(t, ti, templatev1.TemplateInstanceReady, templateinstance.ReasonCreated)
	var after corev1.ConfigMapList
	if err := c.List(t.Context(), &after, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	all := owned(after.Items, ti)
	if len(all) != count || len(ti.Status.Objects) != count {
		t.Fatalf("%d objects and %d in the status after the restart, want %d", len(all), len(ti.Status.Objects), count)
	}
	passwords := map[string]bool{}
	for _, cm := range all {
		passwords[cm.Data["password"]] = true
		if old, ok := made[cm.Name]; ok && cm.UID != old.UID {
			t.Errorf("%s was made again (UID %s, before the kill %s)", cm.Name, cm.UID, old.UID)
		}
	}
	if len(passwords) != 1 {
		t.Errorf("%d different generated passwords across the objects, want 1", len(passwords))
	}
	for i, o := range ti.Status.Objects {
		if want := fmt.Sprintf("cm-%03d", i); o.Ref.Name != want || o.Ref.UID != all[want].UID {
			t.Errorf("objects[%d] = %+v, want %s with UID %s", i, o.Ref, want, all[want].UID)
		}
	}
}

// owned maps the name of each ConfigMap the instance made to it.
func owned(items []corev1.ConfigMap, ti *templatev1.TemplateInstance) map[string]corev1.ConfigMap {
	out := map[string]corev1.ConfigMap{}
	for _, cm := range items {
		if cm.Labels[templateinstance.OwnerLabel] == string(ti.UID) {
			out[cm.Name] = cm
		}
	}
	return out
}

// runControllerManager starts kubia-controller-manager with only what the
// TemplateInstance controller needs, killed when the test ends.
func runControllerManager(t *testing.T, binary string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath(),
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--template-instances", "--template-instance-key="+templateInstanceKey.String())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}
