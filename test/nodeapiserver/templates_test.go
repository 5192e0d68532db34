package nodeapiserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clitemplate "github.com/kubia-dev/kubia/internal/cli/template"
	"github.com/kubia-dev/kubia/test/harness"
)

var (
	templates          = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "templates"}
	processedTemplates = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "processedtemplates"}
	templateInstances  = schema.GroupVersionResource{Group: "template.openshift.io", Version: "v1", Resource: "templateinstances"}
)

// templatesThroughRoles checks the chart's aggregated ClusterRoles: a user bound to
// Kubernetes' edit role in ns writes and processes Templates there, one bound to view
// reads them and may not process them.
func templatesThroughRoles(t *testing.T, ns string) {
	bind(t, ns, "erin", "edit")
	bind(t, ns, "vera", "view")
	erin, vera := as(t, "erin"), as(t, "vera")
	tpl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "template.openshift.io/v1", "kind": "Template",
		"metadata":   map[string]any{"name": "hello"},
		"parameters": []any{map[string]any{"name": "NAME", "value": "world"}},
		"objects":    []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "${NAME}"}}},
	}}
	harness.Eventually(t, time.Minute, "edit may create Templates", func(ctx context.Context) error {
		_, err := erin.Resource(templates).Namespace(ns).Create(ctx, tpl, metav1.CreateOptions{})
		return err
	})
	processed, err := erin.Resource(processedTemplates).Namespace(ns).Create(t.Context(), tpl, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("edit processes a Template: %v", err)
	}
	objects, _, _ := unstructured.NestedSlice(processed.Object, "objects")
	if len(objects) != 1 || objects[0].(map[string]any)["metadata"].(map[string]any)["name"] != "world" {
		t.Errorf("processed objects %v, want the ConfigMap named world", objects)
	}
	harness.Eventually(t, time.Minute, "view may read Templates", func(ctx context.Context) error {
		_, err := vera.Resource(templates).Namespace(ns).Get(ctx, "hello", metav1.GetOptions{})
		return err
	})
	if _, err := vera.Resource(processedTemplates).Namespace(ns).Create(t.Context(), tpl, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("view processes a Template: %v, want Forbidden", err)
	}
}

func bind(t *testing.T, ns, user, clusterRole string) {
	t.Helper()
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + clusterRole, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if _, err := harness.Get(t).Clientset.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func as(t *testing.T, user string) dynamic.Interface {
	t.Helper()
	c, err := dynamic.NewForConfig(harness.ConfigAs(t, user))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newAppPostgreSQL checks the chart's starter catalog: the templates are in "openshift",
// readable by any authenticated user and writable by none; a user bound to edit in a
// namespace instantiates postgresql-persistent there with `kubia new-app`, which waits
// until PostgreSQL runs; the database accepts the generated password it printed; deleting
// the TemplateInstance deletes what it made.
func newAppPostgreSQL(t *testing.T) {
	ns := harness.Namespace(t)
	bind(t, ns, "nora", "edit")
	nora := as(t, "nora")
	harness.Eventually(t, timeout, "the starter templates in openshift, readable by any user", func(ctx context.Context) error {
		list, err := nora.Resource(templates).Namespace("openshift").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var names []string
		for _, item := range list.Items {
			names = append(names, item.GetName())
		}
		for _, want := range []string{"app-postgresql", "nginx-website", "postgresql-ephemeral", "postgresql-persistent"} {
			if !slices.Contains(names, want) {
				return fmt.Errorf("templates %v, want %s among them", names, want)
			}
		}
		return nil
	})
	tpl := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "template.openshift.io/v1", "kind": "Template",
		"metadata": map[string]any{"name": "mine"}}}
	if _, err := nora.Resource(templates).Namespace("openshift").Create(t.Context(), tpl, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a user creating a template in openshift: %v, want Forbidden", err)
	}

	out := &bytes.Buffer{}
	cmd := clitemplate.NewNewAppCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out})
	cmd.SetArgs([]string{"--template", "postgresql-persistent", "-p", "VOLUME_CAPACITY=64Mi", "-n", ns, "--timeout", timeout.String(),
		"--kubeconfig", harness.Get(t).Cluster.KubeconfigPath(), "--as", "nora"})
	err := cmd.ExecuteContext(t.Context())
	t.Logf("kubia new-app --template postgresql-persistent:\n%s", out)
	if err != nil {
		t.Fatalf("kubia new-app: %v", err)
	}
	for _, want := range []string{`--> Deploying template "openshift/postgresql-persistent" to project ` + ns,
		`    deployment.apps "postgresql" created`, "--> Waiting for the objects to be ready ...", "--> Success"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	user := regexp.MustCompile(`Username: (user[A-Z0-9]{3})\n`).FindStringSubmatch(out.String())
	password := regexp.MustCompile(`Password: ([a-zA-Z0-9]{16})\n`).FindStringSubmatch(out.String())
	if user == nil || password == nil {
		t.Fatalf("the message names no generated username and password")
	}

	svc := &corev1.Service{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "postgresql"}, svc); err != nil {
		t.Fatal(err)
	}
	uri := (&url.URL{Scheme: "postgres", User: url.UserPassword(user[1], password[1]), Host: net.JoinHostPort(svc.Spec.ClusterIP, "5432"),
		Path: "sampledb", RawQuery: "sslmode=disable&connect_timeout=5"}).String()
	var who string
	harness.Eventually(t, timeout, "PostgreSQL accepts the generated password", func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, uri)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.QueryRow(ctx, "select current_user || '@' || current_database()").Scan(&who)
	})
	if who != user[1]+"@sampledb" {
		t.Errorf("connected as %s, want %s@sampledb", who, user[1])
	}

	if err := nora.Resource(templateInstances).Namespace(ns).Delete(t.Context(), "postgresql-persistent", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, "the instance's objects deleted with it", func(ctx context.Context) error {
		c := harness.Get(t).Client
		for _, obj := range []client.Object{&corev1.Secret{}, &corev1.Service{}, &corev1.PersistentVolumeClaim{}, &appsv1.Deployment{}} {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgresql"}, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T postgresql still there (%v)", obj, err)
			}
		}
		return nil
	})
}
