package apiserver_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	projectv1 "github.com/openshift/api/project/v1"
	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cliproject "github.com/kubia-dev/kubia/internal/cli/project"
	"github.com/kubia-dev/kubia/test/harness"
)

func projectClient(t *testing.T, cfg *rest.Config) client.WithWatch {
	return clientOf(t, cfg, projectv1.Install)
}

// bindAdmin gives subject Kubernetes' admin role in ns, as a project's requester gets.
func bindAdmin(t *testing.T, ns string, subject rbacv1.Subject) {
	t.Helper()
	b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "admin-" + rand.String(5)},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}, Subjects: []rbacv1.Subject{subject}}
	if _, err := harness.Get(t).Clientset.RbacV1().RoleBindings(ns).Create(t.Context(), b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// grantEveryone gives every authenticated user rule cluster-wide, as the chart's
// kubia:basic-user and kubia:projects roles do, until the test ends.
func grantEveryone(t *testing.T, rule rbacv1.PolicyRule) {
	t.Helper()
	cs := harness.Get(t).Clientset
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "test-everyone-" + rand.String(5)}, Rules: []rbacv1.PolicyRule{rule}}
	if _, err := cs.RbacV1().ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() has ended by now.
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
}

func projectNames(t *testing.T, c client.Client) ([]string, error) {
	var list projectv1.ProjectList
	if err := c.List(t.Context(), &list); err != nil {
		return nil, err
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	return names, nil
}

// Each user lists only the projects of the namespaces RBAC lets them (or a group of
// theirs) get, gets only those, and deletes only one whose namespace they may delete; a
// watch sees a new project once the user is bound in it.
func TestProjectsListOnlyWhatTheCallerMayGet(t *testing.T) {
	// The chart's kubia:projects (apiserver-project-rbac.yaml).
	grantEveryone(t, rbacv1.PolicyRule{APIGroups: []string{projectv1.GroupName}, Resources: []string{"projects"},
		Verbs: []string{"get", "list", "watch", "delete"}})
	nsA, nsB, nsC := harness.Namespace(t), harness.Namespace(t), harness.Namespace(t)
	alice, bob := "alice-"+rand.String(5), "bob-"+rand.String(5)
	group := "dev-" + rand.String(5)
	bindAdmin(t, nsA, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: alice})
	bindAdmin(t, nsB, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: bob})
	bindAdmin(t, nsC, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group})
	asAlice := projectClient(t, harness.ConfigAs(t, alice, "system:authenticated"))
	asBob := projectClient(t, harness.ConfigAs(t, bob, "system:authenticated", group))

	for who, want := range map[client.Client][]string{asAlice: {nsA}, asBob: {nsB, nsC}} {
		slices.Sort(want)
		harness.Eventually(t, time.Minute, fmt.Sprintf("projects %v listed", want), func(context.Context) error {
			got, err := projectNames(t, who)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("listed %v", got)
			}
			return nil
		})
	}
	var active projectv1.ProjectList
	if err := asBob.List(t.Context(), &active, client.MatchingFields{"status.phase": "Active", "metadata.name": nsC}); err != nil ||
		len(active.Items) != 1 || active.Items[0].Name != nsC {
		t.Errorf("bob's projects selected by phase and name: %v %+v", err, active.Items)
	}
	var p projectv1.Project
	if err := asAlice.Get(t.Context(), client.ObjectKey{Name: nsA}, &p); err != nil || p.Status.Phase != "Active" {
		t.Errorf("alice gets her project: %v %+v", err, p.Status)
	}
	err := asAlice.Get(t.Context(), client.ObjectKey{Name: nsB}, &p)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "`+alice+`" cannot get resource "projects"`) {
		t.Errorf("alice gets bob's project: %v, want Forbidden", err)
	}
	if err := asAlice.Delete(t.Context(), &projectv1.Project{ObjectMeta: metav1.ObjectMeta{Name: nsB}}); !apierrors.IsForbidden(err) {
		t.Errorf("alice deletes bob's project: %v, want Forbidden", err)
	}
	out := harness.Kubectl(t, "get", "projects", nsA)
	for _, col := range []string{"NAME", "DISPLAY NAME", "STATUS", "Active"} {
		if !strings.Contains(out, col) {
			t.Errorf("kubectl get projects lacks %q:\n%s", col, out)
		}
	}

	// A watch of alice's projects sees bob's once bob makes her an admin of it.
	w, err := asAlice.Watch(t.Context(), &projectv1.ProjectList{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	bindAdmin(t, nsB, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: alice})
	if err := harness.Get(t).Client.Patch(t.Context(), &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: nsB}}, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"touched":"yes"}}}`))); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for seen := false; !seen; {
		select {
		case e := <-w.ResultChan():
			if p, ok := e.Object.(*projectv1.Project); ok && p.Name == nsB {
				seen = true
			} else if ok && p.Name != nsA {
				t.Errorf("alice's watch shows %s", p.Name)
			}
		case <-deadline:
			t.Fatal("alice's watch never showed bob's project")
		}
	}

	if err := asAlice.Delete(t.Context(), &projectv1.Project{ObjectMeta: metav1.ObjectMeta{Name: nsA}}); !apierrors.IsForbidden(err) {
		t.Errorf("alice deletes her project without the right to delete its namespace: %v, want Forbidden", err)
	}
	grant(t, nsA, alice, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"delete"}})
	harness.Eventually(t, time.Minute, "alice deletes her project", func(ctx context.Context) error {
		return asAlice.Delete(ctx, &projectv1.Project{ObjectMeta: metav1.ObjectMeta{Name: nsA}})
	})
	harness.Eventually(t, time.Minute, "alice's namespace terminating or gone", func(ctx context.Context) error {
		ns, err := harness.Get(t).Clientset.CoreV1().Namespaces().Get(ctx, nsA, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil) {
			return nil
		}
		return fmt.Errorf("namespace %v %v", err, ns.Status.Phase)
	})
}

// kubia projects and kubia project, as a user with two projects, on a copy of the
// kubeconfig: oc's messages, the current project starred, switching refused for a
// project the user may not see.
func TestProjectCommands(t *testing.T) {
	grantEveryone(t, rbacv1.PolicyRule{APIGroups: []string{projectv1.GroupName}, Resources: []string{"projects"},
		Verbs: []string{"get", "list", "watch"}})
	nsA, nsB, other := harness.Namespace(t), harness.Namespace(t), harness.Namespace(t)
	user := "carol-" + rand.String(5)
	for _, ns := range []string{nsA, nsB} {
		bindAdmin(t, ns, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user})
	}
	if err := harness.Get(t).Client.Patch(t.Context(), &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: nsA}}, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"openshift.io/display-name":"The Shop"}}}`))); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(harness.Get(t).Cluster.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(newCommand func(genericiooptions.IOStreams) *cobra.Command, args ...string) (string, error) {
		out := &bytes.Buffer{}
		cmd := newCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out})
		cmd.SetArgs(append(args, "--kubeconfig", kubeconfig, "--as", user, "--as-group", "system:authenticated"))
		cmd.SetOut(out)
		cmd.SetErr(out)
		err := cmd.ExecuteContext(t.Context())
		t.Logf("kubia %s %s:\n%s", cmd.Name(), strings.Join(args, " "), out)
		return out.String(), err
	}
	harness.Eventually(t, time.Minute, "both projects listed", func(context.Context) error {
		out, err := run(cliproject.NewProjectsCommand)
		if err != nil || !strings.Contains(out, "\n"+nsA+" - The Shop") || !strings.Contains(out, "\n"+nsB) {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	out, err := run(cliproject.NewProjectCommand, nsB)
	host := harness.Get(t).Config.Host
	if err != nil || out != fmt.Sprintf("Now using project %q on server %q.\n", nsB, host) {
		t.Fatalf("kubia project %s: %q %v", nsB, out, err)
	}
	out, err = run(cliproject.NewProjectsCommand)
	lines := map[string]string{nsA: "    " + nsA + " - The Shop", nsB: "  * " + nsB}
	names := []string{nsA, nsB}
	slices.Sort(names) // listed by name
	want := "You have access to the following projects and can switch between them with 'kubia project <projectname>':\n\n" +
		lines[names[0]] + "\n" + lines[names[1]] + "\n\nUsing project " + strconv.Quote(nsB) + " on server " + strconv.Quote(host) + ".\n"
	if err != nil || out != want {
		t.Errorf("kubia projects:\n%s\nwant:\n%s", out, want)
	}
	if out, err := run(cliproject.NewProjectCommand); err != nil || out != fmt.Sprintf("Using project %q on server %q.\n", nsB, host) {
		t.Errorf("kubia project: %q %v", out, err)
	}
	if _, err := run(cliproject.NewProjectCommand, other); err == nil || err.Error() != fmt.Sprintf("You are not a member of project %q.", other) {
		t.Errorf("kubia project %s: %v", other, err)
	}
	if out, err := run(cliproject.NewProjectsCommand, "-q"); err != nil || out != names[0]+"\n"+names[1]+"\n" {
		t.Errorf("kubia projects -q: %q %v", out, err)
	}
}
