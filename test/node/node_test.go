// Package node tests the local node: pods run from images built here, Services answer on
// their NodePorts, cluster DNS resolves Service names. It is the test package that owns
// the machine's node (others wait for it: only one node can run per machine).
package node

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.WithNode(images.Nginx, images.Sync, images.ControllerManager, images.Broker, images.PostgreSQL), harness.WithCRDs())
}

const timeout = 2 * time.Minute

func TestNodeIsReadyAndSchedulable(t *testing.T) {
	harness.RequireNode(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: localcluster.NodeName}}
	harness.WaitFor(t, node, timeout, "the node is Ready, labelled, untainted, with the node address", func() error {
		if len(node.Spec.Taints) != 0 {
			return fmt.Errorf("node is tainted: %v", node.Spec.Taints)
		}
		if _, ok := node.Labels["node-role.kubernetes.io/control-plane"]; !ok {
			return fmt.Errorf("node lacks the control-plane role label: %v", node.Labels)
		}
		for _, addr := range node.Status.Addresses {
			if addr.Type == corev1.NodeInternalIP && addr.Address != localcluster.DefaultNodeIP {
				return fmt.Errorf("InternalIP %s, want %s", addr.Address, localcluster.DefaultNodeIP)
			}
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("not Ready")
	})
}

// Connections from this machine to cluster IPs are routed through the node's interface
// from the node address, whatever the machine's own routes: none goes out to the network,
// even one made before kube-proxy has written a Service's rules.
func TestClusterIPsAreRoutedThroughTheNode(t *testing.T) {
	harness.RequireNode(t)
	kubernetes := &corev1.Service{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "kubernetes"}, kubernetes); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{kubernetes.Spec.ClusterIP, localcluster.ClusterDNSIP} {
		route, err := exec.Command("ip", "-4", "-o", "route", "get", ip).CombinedOutput()
		if err != nil {
			t.Fatalf("ip route get %s: %v: %s", ip, err, route)
		}
		if out := string(route); !strings.Contains(out, " dev kubia0 ") || !strings.Contains(out, " src "+localcluster.DefaultNodeIP+" ") {
			t.Errorf("ip route get %s: %q, want dev kubia0 src %s", ip, out, localcluster.DefaultNodeIP)
		}
	}
}

// nginx from the image built here serves its page on the NodePort, at the node address and
// on 127.0.0.1; kubectl logs shows the requests and kubectl exec runs in the container.
func TestNginxOnNodePort(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	harness.ApplyFile(t, ns, "testdata/nginx.yaml")
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}}
	harness.WaitFor(t, deploy, timeout, "nginx is available", func() error {
		if deploy.Status.AvailableReplicas < 1 {
			return fmt.Errorf("%d available", deploy.Status.AvailableReplicas)
		}
		return nil
	})
	svc := &corev1.Service{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "web"}, svc); err != nil {
		t.Fatal(err)
	}
	nodePort := strconv.Itoa(int(svc.Spec.Ports[0].NodePort))
	for _, host := range []string{localcluster.DefaultNodeIP, "127.0.0.1"} {
		url := "http://" + host + ":" + nodePort + "/"
		harness.Eventually(t, timeout, "GET "+url+" returns nginx's page", func(ctx context.Context) error {
			return harness.ExpectPage(ctx, url, "Welcome to nginx")
		})
	}

	logs := harness.Kubectl(t, "logs", "-n", ns, "deployment/web")
	if !strings.Contains(logs, "GET / HTTP/1.1") {
		t.Fatalf("kubectl logs does not show the requests:\n%s", logs)
	}
	if uid := strings.TrimSpace(harness.Kubectl(t, "exec", "-n", ns, "deployment/web", "--", "id", "-u")); uid == "0" || uid == "" {
		t.Fatalf("kubectl exec id -u = %q; nginx must run as a non-root user", uid)
	}
}

// A PostgreSQL server from the image built here accepts a password (from a Secret)
// connection from another pod that finds it by its Service's DNS name.
func TestPostgresByServiceDNSName(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	harness.ApplyFile(t, ns, "testdata/postgres.yaml")
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: ns}}
	harness.WaitFor(t, job, timeout, "the client connected", func() error {
		if job.Status.Failed > 0 {
			return fmt.Errorf("client failed:\n%s", harness.Kubectl(t, "logs", "-n", ns, "job/client"))
		}
		if job.Status.Succeeded < 1 {
			return fmt.Errorf("client not done")
		}
		return nil
	})
	if out := harness.Kubectl(t, "logs", "-n", ns, "job/client"); !strings.Contains(out, "connected as postgres") {
		t.Fatalf("client output lacks the query's result:\n%s", out)
	}
}
