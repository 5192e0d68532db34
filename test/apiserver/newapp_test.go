package apiserver_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clitemplate "github.com/kubia-dev/kubia/internal/cli/template"
	"github.com/kubia-dev/kubia/test/harness"
)

// newApp runs `kubia new-app args...` in-process against the test cluster as user, and
// returns its output and error.
func newApp(t *testing.T, user string, args ...string) (string, error) {
	t.Helper()
	return runCommand(t, clitemplate.NewNewAppCommand, append(args, "--as", user)...)
}

// sharedTemplate stores, in namespace "openshift", a template of a ConfigMap holding a
// generated password, and lets every authenticated user read the templates there
// (OpenShift's shared-resource-viewer, as the chart grants it).
func sharedTemplate(t *testing.T, name string) {
	t.Helper()
	cs := harness.Get(t).Clientset
	for _, err := range []error{
		ignoreExists(cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "openshift"}}, metav1.CreateOptions{})),
		ignoreExists(cs.RbacV1().Roles("openshift").Create(t.Context(), &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "shared-resource-viewer"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{templatev1.GroupName}, Resources: []string{"templates"}, Verbs: []string{"get", "list", "watch"}}},
		}, metav1.CreateOptions{})),
		ignoreExists(cs.RbacV1().RoleBindings("openshift").Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "shared-resource-viewers"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "shared-resource-viewer"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}},
		}, metav1.CreateOptions{})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tpl := &templatev1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "openshift",
			Annotations: map[string]string{"openshift.io/display-name": "Shop", "description": "A shop's settings."}},
		Message: "The shop's password is ${PASSWORD}.",
		Parameters: []templatev1.Parameter{
			{Name: "SHOP", DisplayName: "Shop name", Required: true},
			{Name: "PASSWORD", Generate: "expression", From: "[a-z]{12}"},
		},
		Objects: []runtime.RawExtension{object(t, map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "${SHOP}"}, "data": map[string]any{"password": "${PASSWORD}"}})},
	}
	if err := harness.Get(t).Client.Create(t.Context(), tpl); err != nil {
		t.Fatal(err)
	}
}

func ignoreExists[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// `kubia new-app --template` finds a shared template in "openshift", prints it as oc
// new-app does with the values it will use, and instantiates it through a TemplateInstance
// as the user: the password it printed is the ConfigMap's, and deleting the instance
// deletes the ConfigMap and the parameters' Secret.
func TestNewAppInstantiatesASharedTemplate(t *testing.T) {
	startTemplateInstanceController(t)
	ns := harness.Namespace(t)
	sharedTemplate(t, "shop")
	mayInstantiate(t, ns, "nina", writeConfigMaps, writeSecrets, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"update", "patch"}})

	out, err := newApp(t, "nina", "--template", "shop", "-n", ns, "-p", "SHOP=corner")
	if err != nil {
		t.Fatalf("kubia new-app: %v", err)
	}
	password := regexp.MustCompile(`\* PASSWORD=([a-z]{12}) # generated\n`).FindStringSubmatch(out)
	if password == nil {
		t.Fatalf("the output lists no generated PASSWORD:\n%s", out)
	}
	for _, want := range []string{
		fmt.Sprintf("--> Deploying template \"openshift/shop\" to project %s\n\n     Shop\n     ---------\n     A shop's settings.\n\n", ns),
		"     The shop's password is " + password[1] + ".\n",
		"        * Shop name=corner\n",
		"--> Creating resources ...\n    configmap \"corner\" created\n--> Success\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	c := harness.Get(t).Client
	cm := &corev1.ConfigMap{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "corner"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.Data["password"] != password[1] {
		t.Errorf("the ConfigMap's password %q, the output's %q", cm.Data["password"], password[1])
	}
	ti := &templatev1.TemplateInstance{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop"}, ti); err != nil {
		t.Fatal(err)
	}
	if ti.Spec.Requester == nil || ti.Spec.Requester.Username != "nina" {
		t.Errorf("the instance's requester %+v, want nina", ti.Spec.Requester)
	}
	secret := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop-parameters"}, secret); err != nil {
		t.Fatal(err)
	}
	if len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != ti.UID {
		t.Errorf("the parameters' Secret is owned by %+v, want the instance %s", secret.OwnerReferences, ti.UID)
	}

	if _, err := newApp(t, "nina", "--template", "shop", "-n", ns, "-p", "SHOP=other"); err == nil ||
		err.Error() != `secret "shop-parameters" already exists; choose another instance name with --name` {
		t.Errorf("a second instance of the same name: %v", err)
	}
	if err := c.Delete(t.Context(), ti); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, "the instance's ConfigMap and Secret deleted with it", func(ctx context.Context) error {
		for name, obj := range map[string]client.Object{"ConfigMap corner": &corev1.ConfigMap{}, "Secret shop-parameters": &corev1.Secret{}} {
			_, objName, _ := strings.Cut(name, " ")
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: objName}, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s still there (%v)", name, err)
			}
		}
		return nil
	})
}

// What new-app refuses, it refuses before creating anything: an unknown parameter, a
// required one left empty, a template that is nowhere; what the user may not create fails
// the instance with OpenShift's message naming it, and new-app says so.
func TestNewAppFailures(t *testing.T) {
	startTemplateInstanceController(t)
	ns := harness.Namespace(t)
	sharedTemplate(t, "settings")
	mayInstantiate(t, ns, "omar", writeSecrets, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"update", "patch"}})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--template", "settings", "-p", "SHOP=a", "-p", "NOPE=1"}, `unknown parameter name "NOPE"`},
		{[]string{"--template", "settings"}, "unable to process template\n  Required value: template.parameters[0]: parameter SHOP is required and must be specified"},
		{[]string{"--template", "nosuch"}, `unable to locate any templates loaded in accessible projects with name "nosuch"`},
		{[]string{"--template", "settings", "-p", "SHOP=a", "-p", "SHOP=b"}, "The following parameters were provided more than once: SHOP"},
	} {
		_, err := newApp(t, "omar", append(tc.args, "-n", ns)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kubia new-app %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	assertNone(t, ns, &templatev1.TemplateInstanceList{}, &corev1.SecretList{})

	_, err := newApp(t, "omar", "--template", "settings", "-n", ns, "-p", "SHOP=a")
	want := `instantiating template "settings" failed: unable to authorize user to create /v1, Resource=configmaps, Name=a: configmaps is forbidden: User "omar" cannot create resource "configmaps"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("instantiating what the user may not create: %v, want %q", err, want)
	}
	assertNone(t, ns, &corev1.ConfigMapList{})

	// One who may not create TemplateInstances is told so, and the Secret made for the
	// instance is deleted again.
	other := harness.Namespace(t)
	grant(t, other, "pia", rbacv1.PolicyRule{APIGroups: []string{templatev1.GroupName}, Resources: []string{"processedtemplates"}, Verbs: []string{"create"}})
	grant(t, other, "pia", writeSecrets)
	_, err = newApp(t, "pia", "--template", "settings", "-n", other, "-p", "SHOP=a")
	if !apierrors.IsForbidden(err) {
		t.Errorf("creating a TemplateInstance without the right: %v, want Forbidden", err)
	}
	assertNone(t, other, &corev1.SecretList{}, &templatev1.TemplateInstanceList{})
}

// assertNone checks the namespace holds none of these kinds but what Kubernetes makes
// itself (the root CA's ConfigMap).
func assertNone(t *testing.T, ns string, lists ...client.ObjectList) {
	t.Helper()
	for _, list := range lists {
		if err := harness.Get(t).Client.List(t.Context(), list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range items {
			if name := item.(client.Object).GetName(); name != "kube-root-ca.crt" {
				t.Errorf("%T %s left behind", item, name)
			}
		}
	}
}
