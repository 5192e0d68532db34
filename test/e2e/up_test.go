package e2e

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/test/harness"
)

const (
	readyTimeout = 3 * time.Minute
	// stopLimit is what `kubia up` promises: everything stopped within 15 s of a signal.
	stopLimit = 15 * time.Second
)

// TestUp runs `kubia up` as a user does: it becomes ready, kubectl works through the
// kubeconfig it wrote, a second instance on the same data dir is refused, a signal stops
// everything it started, state survives a restart and --fresh wipes it. The control plane
// suffices for these; TestUpWithNode covers the node.
func TestUp(t *testing.T) {
	dataDir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	kubeconfig := filepath.Join(dataDir, "kubeconfig")

	up := startUp(t, "--data-dir", dataDir, "--apiserver-port", port, "--node=off")
	line := up.waitReady(t, readyTimeout)
	if want := "export KUBECONFIG=" + kubeconfig + "; kubectl get ns"; !strings.Contains(line, want) {
		t.Fatalf("ready line %q does not tell how to use the cluster (%q)", line, want)
	}
	namespaces := kubectl(t, kubeconfig, "get", "ns", "-o", "name")
	for _, ns := range []string{"namespace/default", "namespace/kube-system"} {
		if !strings.Contains(namespaces, ns) {
			t.Fatalf("kubectl get ns = %q, want %s in it", namespaces, ns)
		}
	}
	kubectl(t, kubeconfig, "create", "namespace", "kept-across-restarts")

	t.Run("Kubia's controllers run: the book's Website gets its Deployment and Service", func(t *testing.T) {
		kubectl(t, kubeconfig, "apply", "-f", harness.BookPath(t, "kubia-website.yaml"))
		// One object per wait: kubectl v1.37's --for=create gives up at once when several
		// are all missing at its first look (their NotFound errors come aggregated).
		for _, child := range []string{"deployment/kubia-website", "service/kubia-website"} {
			kubectl(t, kubeconfig, "wait", "--for=create", child, "--timeout=1m")
		}
	})

	t.Run("a second kubia up on the same data dir fails fast", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		began := time.Now()
		out, err := exec.CommandContext(ctx, kubiaBin, "up", "--data-dir", dataDir, "--apiserver-port", "0", "--node=off").CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("second kubia up: err = %v, ctx = %v; want a prompt failure\n%s", err, ctx.Err(), out)
		}
		if !strings.Contains(string(out), "in use by another running cluster") {
			t.Fatalf("second kubia up does not say why it failed:\n%s", out)
		}
		if took := time.Since(began); took > 5*time.Second {
			t.Fatalf("second kubia up took %s to fail", took)
		}
	})

	t.Run("SIGTERM stops every process it started", func(t *testing.T) {
		assertStopsEverything(t, up, syscall.SIGTERM, port)
	})

	t.Run("state survives a restart", func(t *testing.T) {
		up := startUp(t, "--data-dir", dataDir, "--apiserver-port", port, "--node=off")
		up.waitReady(t, readyTimeout)
		kubectl(t, kubeconfig, "get", "namespace", "kept-across-restarts")
		assertStopsEverything(t, up, syscall.SIGINT, port)
	})

	t.Run("--fresh wipes earlier state", func(t *testing.T) {
		up := startUp(t, "--data-dir", dataDir, "--apiserver-port", port, "--node=off", "--fresh")
		up.waitReady(t, readyTimeout)
		out, err := kubectlErr(kubeconfig, "get", "namespace", "kept-across-restarts")
		if err == nil || !strings.Contains(out, "NotFound") {
			t.Fatalf("after --fresh, kubectl get namespace: err = %v, output %q; want NotFound", err, out)
		}
		assertStopsEverything(t, up, syscall.SIGTERM, port)
	})
}

// A crash of kubia up (SIGKILL, no clean-up) must not leave its components running, and
// must not block the next start on the same data dir.
func TestKilledUpLeavesNoOrphans(t *testing.T) {
	dataDir := t.TempDir()
	up := startUp(t, "--data-dir", dataDir, "--apiserver-port", "0", "--node=off")
	up.waitReady(t, readyTimeout)
	children := childPIDs(t, up.cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatal("kubia up runs no child process")
	}
	up.stop(t, syscall.SIGKILL, stopLimit)
	assertGone(t, children, 10*time.Second)

	again := startUp(t, "--data-dir", dataDir, "--apiserver-port", "0", "--node=off")
	again.waitReady(t, readyTimeout)
	again.stop(t, syscall.SIGTERM, stopLimit)
}

func assertStopsEverything(t *testing.T, up *upProcess, sig syscall.Signal, port string) {
	t.Helper()
	children := childPIDs(t, up.cmd.Process.Pid)
	names := make([]string, 0, len(children))
	for _, pid := range children {
		names = append(names, processName(pid))
	}
	for _, want := range []string{"etcd", "kube-apiserver", "kube-controller", "kube-scheduler"} {
		if !containsPrefix(names, want) {
			t.Fatalf("kubia up's children are %v; want %s among them", names, want)
		}
	}
	took := up.stop(t, sig, stopLimit)
	if up.exitErr != nil {
		t.Fatalf("kubia up exited with %v after %s:\n%s", up.exitErr, sig, up.Output())
	}
	t.Logf("stopped on %s in %s", sig, took.Round(time.Millisecond))
	assertGone(t, children, 0)
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		conn.Close()
		t.Fatalf("port %s still accepts connections after kubia up stopped", port)
	}
}

// assertGone fails unless every pid has exited within grace.
func assertGone(t *testing.T, pids []int, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for _, pid := range pids {
		for processName(pid) != "" && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if name := processName(pid); name != "" {
			t.Errorf("child %s (pid %d) is still running", name, pid)
		}
	}
}

func containsPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func kubectl(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(kubeconfig, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func kubectlErr(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, args...)
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
