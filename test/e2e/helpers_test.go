package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/cli"
)

// upProcess is a running `kubia up`.
type upProcess struct {
	cmd     *exec.Cmd
	started time.Time
	ready   chan string // receives the ready line
	exited  chan struct{}
	mu      sync.Mutex
	output  bytes.Buffer // stdout and stderr, for failure messages
	exitErr error
}

// startUp starts `kubia up` with args; the process is killed when the test ends.
func startUp(t testing.TB, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(kubiaBin, append([]string{"up"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	up := &upProcess{cmd: cmd, ready: make(chan string, 1), exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{up: up}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up.started = time.Now()
	go up.scan(stdout)
	t.Cleanup(func() {
		if up.running() {
			_ = cmd.Process.Kill()
			<-up.exited
		}
	})
	return up
}

func (up *upProcess) scan(stdout io.Reader) {
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		up.mu.Lock()
		up.output.WriteString(line + "\n")
		up.mu.Unlock()
		if strings.Contains(line, cli.ReadyMessage) {
			up.ready <- line
		}
	}
	up.exitErr = up.cmd.Wait()
	close(up.exited)
}

type lockedWriter struct{ up *upProcess }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.up.mu.Lock()
	defer w.up.mu.Unlock()
	return w.up.output.Write(p)
}

func (up *upProcess) Output() string {
	up.mu.Lock()
	defer up.mu.Unlock()
	return up.output.String()
}

func (up *upProcess) running() bool {
	select {
	case <-up.exited:
		return false
	default:
		return true
	}
}

// waitReady returns the ready line, failing the test if it does not come within timeout.
func (up *upProcess) waitReady(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case line := <-up.ready:
		return line
	case <-up.exited:
		t.Fatalf("kubia up exited before it was ready (%v):\n%s", up.exitErr, up.Output())
	case <-time.After(timeout):
		t.Fatalf("kubia up not ready after %s:\n%s", timeout, up.Output())
	}
	return ""
}

// stop sends sig and waits up to timeout for kubia up to exit, returning how long it took.
func (up *upProcess) stop(t testing.TB, sig syscall.Signal, timeout time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	if err := up.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.exited:
	case <-time.After(timeout):
		t.Fatalf("kubia up still running %s after %s:\n%s", timeout, sig, up.Output())
	}
	return time.Since(began)
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(t testing.TB, pid int) []int {
	t.Helper()
	var children []int
	for _, p := range allPIDs(t) {
		if ppid, ok := parentPID(p); ok && ppid == pid {
			children = append(children, p)
		}
	}
	return children
}

// allPIDs lists every process of the machine.
func allPIDs(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// parentPID reads the parent of pid from /proc/<pid>/stat.
func parentPID(pid int) (int, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; the fields after its ')' are plain.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(fields[1])
	return ppid, err == nil
}

// processName returns the command name of pid, or "" when it no longer exists.
func processName(pid int) string {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(comm))
}
