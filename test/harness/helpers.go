package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manifest"
)

// fieldOwner is the server-side-apply manager of objects the tests apply.
const fieldOwner = "kubia-test"

var unsafeNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace named after the test and deletes it when the test ends.
func Namespace(t testing.TB) string {
	t.Helper()
	e := Get(t)
	base := strings.Trim(unsafeNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.Trim(base[:40], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: base + "-" + rand.String(5)}}
	if err := e.Client.Create(t.Context(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		// t.Context() has ended by now; deletion only needs to be requested.
		if err := e.Client.Delete(context.Background(), ns); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// ApplyFile server-side-applies every object in the YAML file at path, putting namespaced
// objects that name no namespace into namespace, and returns the objects as stored.
func ApplyFile(t testing.TB, namespace, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	objs, err := manifest.Apply(t.Context(), Get(t).Client, fieldOwner, namespace, data)
	if err != nil {
		t.Fatalf("applying %s: %v", path, err)
	}
	return objs
}

// Eventually polls cond until it returns nil, failing the test after timeout with what
// was awaited and cond's last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	if err := poll(t.Context(), timeout, cond); err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}

// WaitFor polls obj from the API server until cond (which sees the fresh obj) returns nil.
// On timeout it fails the test and shows the object as YAML and the events about it.
func WaitFor(t testing.TB, obj client.Object, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	c := Get(t).Client
	err := poll(t.Context(), timeout, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting until %s: %v\n%s", what, err, Describe(context.Background(), c, obj))
	}
}

func poll(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var last error
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		if last == nil || !causedByDeadline(ctx, err) {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not true after %s; last: %w", timeout, last)
		case <-ticker.C:
		}
	}
}

// causedByDeadline tells errors that say only that time ran out, including client-go's
// rate limiter refusing to wait past the deadline (before the context is done).
func causedByDeadline(ctx context.Context, err error) bool {
	return ctx.Err() != nil || strings.Contains(err.Error(), "would exceed context deadline")
}

// Describe renders obj as YAML followed by the events whose subject it is, for failure messages.
func Describe(ctx context.Context, c client.Client, obj client.Object) string {
	var b strings.Builder
	shown := obj.DeepCopyObject().(client.Object)
	shown.SetManagedFields(nil) // bookkeeping that buries what matters
	if out, err := yaml.Marshal(shown); err == nil {
		fmt.Fprintf(&b, "--- %s:\n%s", client.ObjectKeyFromObject(obj), out)
	}
	var events corev1.EventList
	if err := c.List(ctx, &events, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{"involvedObject.name": obj.GetName()}); err != nil {
		fmt.Fprintf(&b, "--- events: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "--- events (%d):\n", len(events.Items))
	for _, ev := range events.Items {
		fmt.Fprintf(&b, "%s %s %s %s: %s\n", ev.LastTimestamp.Format(time.RFC3339), ev.Type, ev.InvolvedObject.Kind, ev.Reason, ev.Message)
	}
	return b.String()
}

// Kubectl runs the upstream kubectl (the cluster's version) against the cluster and
// returns its combined output, failing the test if it fails.
func Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := kubectl(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(binDir, localcluster.Kubectl), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+Get(t).Cluster.KubeconfigPath())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// KubectlErr runs kubectl against the cluster and returns its output and error, for
// commands expected to fail.
func KubectlErr(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return kubectl(t, args...)
}

// ExpectPage fetches url (3 s at most) and fails unless it answers 200 with want in the body.
func ExpectPage(ctx context.Context, url, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s: %s, body %.100q", url, resp.Status, body)
	}
	return nil
}

// Helm runs the upstream Helm CLI (built by hack/kube) against the cluster; its output
// is in the error when it fails.
func Helm(ctx context.Context, t testing.TB, args ...string) (string, error) {
	t.Helper()
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return "", err
	}
	args = append(args, "--kubeconfig", Get(t).Cluster.KubeconfigPath())
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "helm"), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ConfigAs is the admin's configuration impersonating user in groups, for tests of what
// RBAC lets a user do.
func ConfigAs(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	cfg := rest.CopyConfig(Get(t).Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// BuildCommand builds Kubia's command cmd/<name> into the test's temporary directory and
// returns the binary's path, for tests that run it as a process (to kill it, say).
func BuildCommand(t testing.TB, name string) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/kubia-dev/kubia/cmd/"+name).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, out)
	}
	return binary
}
