package node

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

const chartNamespace = "kubia-system"

// helm runs the upstream Helm CLI (built by hack/kube) against the cluster.
func helm(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return "", err
	}
	args = append(args, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath())
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "helm"), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// The Helm chart installs kubia-controller-manager with two replicas under least-privilege
// RBAC; they elect one leader, which alone reconciles; when it dies the other takes over.
func TestChartInstallsControllersWithLeaderElection(t *testing.T) {
	harness.RequireNode(t)
	chart, err := sourcetree.Path("charts/kubia")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := helm(t.Context(), t, "install", "kubia", chart, "--namespace", chartNamespace, "--create-namespace", "--wait", "--timeout", "3m"); err != nil {
		t.Fatal(err)
	}
	// The chart's controllers watch every namespace: remove them before other tests run.
	t.Cleanup(func() {
		if _, err := helm(context.Background(), t, "uninstall", "kubia", "--namespace", chartNamespace, "--wait"); err != nil {
			t.Error(err)
		}
	})
	c := harness.Get(t).Client
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-controller-manager", Namespace: chartNamespace}}
	harness.WaitFor(t, deploy, timeout, "both replicas are ready", func() error {
		if deploy.Status.ReadyReplicas != 2 {
			return fmt.Errorf("%d ready", deploy.Status.ReadyReplicas)
		}
		return nil
	})
	leader := waitForLeader(t, "")

	ns := harness.Namespace(t)
	first := createWebsite(t, ns, "first")
	assertReconciledBy(t, ns, first, leader)

	// Remove the leader's pod at once; the other replica must take the Lease over.
	if err := c.Delete(t.Context(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: leader, Namespace: chartNamespace}},
		client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	successor := waitForLeader(t, leader)
	second := createWebsite(t, ns, "second")
	assertReconciledBy(t, ns, second, successor)
}

// waitForLeader waits until a pod other than previous holds the Lease, and returns its name.
func waitForLeader(t *testing.T, previous string) string {
	t.Helper()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kubia-controller-manager", Namespace: chartNamespace}}
	var holder string
	harness.WaitFor(t, lease, 2*timeout, "a replica other than "+previous+" leads", func() error {
		holder = strings.SplitN(ptr.Deref(lease.Spec.HolderIdentity, ""), "_", 2)[0]
		if holder == "" || holder == previous {
			return fmt.Errorf("holder %q", ptr.Deref(lease.Spec.HolderIdentity, ""))
		}
		return nil
	})
	return holder
}

func createWebsite(t *testing.T, ns, name string) *extensionsv1.Website {
	t.Helper()
	site := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: "https://" + localcluster.DefaultNodeIP + "/none.git", Replicas: ptr.To[int32](0)},
	}
	if err := harness.Get(t).Client.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	return site
}

// assertReconciledBy waits for the Website's Deployment and checks that every event the
// controllers reported about the Website came from pod.
func assertReconciledBy(t *testing.T, ns string, site *extensionsv1.Website, pod string) {
	t.Helper()
	harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: site.Name + "-website", Namespace: ns}}, timeout,
		site.Name+"'s Deployment exists", func() error { return nil })
	var events corev1.EventList
	harness.Eventually(t, timeout, "the creation events are recorded", func(ctx context.Context) error {
		if err := harness.Get(t).Client.List(ctx, &events, client.InNamespace(ns), client.MatchingFields{"involvedObject.name": site.Name}); err != nil {
			return err
		}
		if len(events.Items) < 2 {
			return fmt.Errorf("%d events", len(events.Items))
		}
		return nil
	})
	for _, ev := range events.Items {
		if !strings.Contains(ev.ReportingInstance, pod) {
			t.Errorf("event %q about %s reported by %q, not the leader %s", ev.Message, site.Name, ev.ReportingInstance, pod)
		}
	}
}
