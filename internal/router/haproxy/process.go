package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is HAProxy in master-worker mode: the master keeps the listening sockets, so a
// reload (SIGUSR2) starts a new worker on them while the old one finishes its connections,
// and no connection is refused or dropped.
type Process struct {
	// Binary is the haproxy program; Dir holds haproxy.cfg, RunDir its sockets.
	Binary, Dir, RunDir string
	cmd                 *exec.Cmd
	exited              chan error
}

// RefusedError is HAProxy's refusal of a configuration: `haproxy -c` ran and said no.
type RefusedError struct {
	// Output is what HAProxy said.
	Output string
}

func (e *RefusedError) Error() string { return e.Output }

// Check runs `haproxy -c` on dir's configuration: HAProxy's own verdict on everything,
// certificates and map files included, before it is used. Only a verdict is a
// RefusedError: a check that could not run (or was cancelled) is another error, and
// blames no route.
func Check(ctx context.Context, binary, dir string) error {
	out, err := exec.CommandContext(ctx, binary, "-c", "-f", filepath.Join(dir, configFile)).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("haproxy -c: %w", ctx.Err())
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return &RefusedError{Output: string(out)}
	}
	return fmt.Errorf("haproxy -c: %w: %s", err, out)
}

// Start runs HAProxy on dir's configuration until ctx ends or Stop, and waits until its
// worker answers on the runtime API.
func (p *Process) Start(ctx context.Context) error {
	if err := os.MkdirAll(p.RunDir, 0o700); err != nil {
		return err
	}
	// -db: stay in the foreground, as the container's main process' child; -q: no notice of
	// every stopped proxy on each reload (alerts still reach the log).
	p.cmd = exec.Command(p.Binary, "-W", "-db", "-q", "-f", filepath.Join(p.Dir, configFile))
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	// Its own process group, so that stopping it reaches the workers too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("starting haproxy: %w", err)
	}
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.cmd.Wait() }()
	_, err := p.waitWorker(ctx, 0)
	return err
}

// Running tells whether HAProxy's master still runs.
func (p *Process) Running() bool {
	select {
	case err := <-p.exited:
		p.exited <- err
		return false
	default:
		return true
	}
}

// Reload starts a new worker on the configuration now in dir, and returns once it answers;
// the old one serves its open connections until they end (or hard-stop-after).
func (p *Process) Reload(ctx context.Context) error {
	old, err := p.WorkerPID(ctx)
	if err != nil {
		return err
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		return fmt.Errorf("reloading haproxy: %w", err)
	}
	_, err = p.waitWorker(ctx, old)
	return err
}

// Stop ends HAProxy: SIGUSR1 lets its workers finish their connections first.
func (p *Process) Stop(timeout time.Duration) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGUSR1)
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return errors.New("haproxy did not stop in time: killed")
	}
}

// waitWorker waits until a worker other than old answers on the runtime API, and returns
// its PID.
func (p *Process) waitWorker(ctx context.Context, old int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for {
		pid, err := p.WorkerPID(ctx)
		if err == nil && pid != old {
			return pid, nil
		}
		lastErr = err
		select {
		case err := <-p.exited:
			p.exited <- err
			return 0, fmt.Errorf("haproxy exited: %v", err)
		case <-ctx.Done():
			return 0, fmt.Errorf("haproxy's new worker did not answer: %v (last: %v)", ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WorkerPID is the PID of the worker answering on the runtime API.
func (p *Process) WorkerPID(ctx context.Context) (int, error) {
	out, err := p.Command(ctx, "show info")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pid: "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("haproxy's show info has no Pid")
}

// Command runs one command of HAProxy's runtime API and returns its answer.
func (p *Process) Command(ctx context.Context, command string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(p.RunDir, "haproxy.sock"))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if _, err := conn.Write([]byte(command + "\n")); err != nil {
		return "", err
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break // the runtime API closes the connection after one command's answer
		}
	}
	return b.String(), nil
}
