package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/localcluster"
)

// nodeLockWait lets a node test wait for another test binary's node: one per machine.
const nodeLockWait = 15 * time.Minute

// TestUpWithNode runs `kubia up` with its node: kubia-broker answers and the book's
// Service Catalog chapter works end to end; the book's Website says why it is not served;
// the starter templates are loaded and `kubia new-app` runs PostgreSQL from one; a pod runs; after a crash of kubia up
// (SIGKILL: its pods and containerd shims keep running) the next start clears the
// leftovers and the pod runs again; after SIGTERM nothing of the node is left on the
// machine: no process, mount, network interface or iptables chain.
func TestUpWithNode(t *testing.T) {
	binDir := requireNodeHost(t)
	dataDir := t.TempDir()
	kubeconfig := dataDir + "/kubeconfig"
	args := []string{"--data-dir", dataDir, "--apiserver-port", "0", "--node=on", "--node-lock-wait", nodeLockWait.String()}

	up := startUp(t, args...)
	up.waitReady(t, readyTimeout+nodeLockWait)
	assertBrokerAnswers(t, kubeconfig, up.Output())
	assertBookServiceCatalog(t, kubeconfig)
	assertBookWebsiteSaysWhy(t, kubeconfig)
	assertStarterTemplates(t, kubeconfig, up.Output())
	kubectl(t, kubeconfig, "run", "web", "--image=localhost/kubia/nginx:local", "--image-pull-policy=Never")
	kubectl(t, kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=2m")

	up.stop(t, syscall.SIGKILL, stopLimit)
	again := startUp(t, args...)
	again.waitReady(t, readyTimeout+nodeLockWait)
	// The pod is recreated from its object in etcd: the earlier sandbox is gone with the
	// leftovers, so its container must have started anew.
	kubectl(t, kubeconfig, "wait", "--for=condition=Ready", "pod/web", "--timeout=2m")
	assertControllersWorkAfterRestart(t, kubeconfig)

	// The check below must be able to see a node: while one runs, it does.
	running, err := localcluster.NodeHostLeftovers(binDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"network interface kubia0", "iptables-save chain KUBE-SERVICES", "mount "} {
		if !strings.Contains(strings.Join(running, "\n"), want) {
			t.Fatalf("with the node running, NodeHostLeftovers sees no %q:\n%s", want, strings.Join(running, "\n"))
		}
	}

	took := again.stop(t, syscall.SIGTERM, stopLimit)
	if again.exitErr != nil {
		t.Fatalf("kubia up exited with %v:\n%s", again.exitErr, again.Output())
	}
	t.Logf("stopped with the node in %s", took.Round(time.Millisecond))
	unlock, err := localcluster.LockNodeHost(nodeLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	leftovers, err := localcluster.NodeHostLeftovers(binDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(leftovers) > 0 {
		t.Fatalf("after kubia up stopped, the node left:\n%s", strings.Join(leftovers, "\n"))
	}
}

// assertControllersWorkAfterRestart checks that kubia-controller-manager, in its pod,
// reconciles again after kubia up came back (on another API server port): a broker
// registered now gets its catalog. A pod cannot reach the API server while Service
// kubernetes still lists the killed run's port, and crash-loops.
func assertControllersWorkAfterRestart(t *testing.T, kubeconfig string) {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "broker.yaml")
	broker := `apiVersion: servicecatalog.k8s.io/v1alpha1
kind: ClusterServiceBroker
metadata:
  name: after-restart
spec:
  url: ` + bookBrokerURL + `
  authInfo:
    basic:
      secretRef: {namespace: kubia-system, name: kubia-broker-auth}
`
	if err := os.WriteFile(manifest, []byte(broker), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, kubeconfig, "apply", "-f", manifest)
	kubectl(t, kubeconfig, "wait", "clusterservicebroker/after-restart", "--for=condition=Ready", "--timeout="+catalogTimeout.String())
	kubectl(t, kubeconfig, "delete", "-f", manifest)
}

// requireNodeHost skips the test where this machine cannot run a node, except on CI,
// where the node tests must run. It returns the binaries' directory.
func requireNodeHost(t testing.TB) string {
	t.Helper()
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	if reason := localcluster.NodeUnsupportedReason(binDir); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the node tests, but %s", reason)
		}
		t.Skipf("needs a node, which cannot run here: %s", reason)
	}
	return binDir
}

// assertBrokerAnswers checks that kubia up printed where kubia-broker answers from this
// machine and that it serves its catalog there with the generated credentials.
func assertBrokerAnswers(t *testing.T, kubeconfig, output string) {
	t.Helper()
	m := regexp.MustCompile(`kubia-broker \(Open Service Broker\): http://kubia-broker\.kubia-system\.svc in the cluster, (http://\S+) from this machine`).FindStringSubmatch(output)
	if m == nil {
		t.Fatalf("kubia up did not say where kubia-broker answers:\n%s", output)
	}
	creds := strings.Fields(kubectl(t, kubeconfig, "-n", "kubia-system", "get", "secret", "kubia-broker-auth",
		"-o", "go-template={{.data.username|base64decode}} {{.data.password|base64decode}}"))
	if len(creds) != 2 {
		t.Fatalf("credentials %q", creds)
	}
	req, err := http.NewRequest(http.MethodGet, m[1]+"/v2/catalog", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(creds[0], creds[1])
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "postgres-database") {
		t.Fatalf("GET %s/v2/catalog: %s %s", m[1], resp.Status, body)
	}
}
