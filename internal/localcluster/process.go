package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one running component of the cluster, with its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	// exited is closed once the process has been reaped; err then holds its exit status.
	exited chan struct{}
	err    error
	// replaced is set before the process is stopped to be started anew: its exit is
	// expected.
	replaced atomic.Bool
}

// startProcess runs binary with args and extra environment variables env, appending its
// output to logDir/<name>.log.
func startProcess(name, binary string, args, env []string, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log of %s: %w", name, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	fmt.Fprintf(logFile, "\n=== %s: starting %s %s\n", time.Now().Format(time.RFC3339), binary, strings.Join(args, " "))

	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A group of its own keeps a terminal's Ctrl-C away from the component, so the
		// owner can stop components in order; Pdeathsig kills it if the owner dies
		// without stopping it, so a crash leaves no orphaned component behind.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// pid returns the operating-system process ID.
func (p *process) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop asks the process to terminate and kills it if it has not exited within grace.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.exited
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", p.name, grace)
}

// waitReady polls check until it succeeds, the process exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, check func(context.Context) error) error {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var lastErr error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if lastErr == nil || ctx.Err() == nil { // an error caused by the deadline says nothing
			lastErr = err
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready (%v); end of its log:\n%s", p.name, p.err, p.logTail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %v); end of its log:\n%s", p.name, ctx.Err(), lastErr, p.logTail(20))
		case <-ticker.C:
		}
	}
}

// logTail returns the last n lines of the process's log.
func (p *process) logTail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	// Components log a lot; reading only the end keeps this cheap on big logs.
	const window = 64 << 10
	if info, err := f.Stat(); err == nil && info.Size() > window {
		if _, err := f.Seek(-window, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read %s: %v)", path, err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Process is a program run the way the cluster runs its components (its own process
// group, killed if its owner dies, output appended to <logDir>/<name>.log), for programs
// that join a cluster from outside it, as the tests' kubia-apiserver and its etcd do.
type Process struct{ p *process }

// StartProcess starts binary with args.
func StartProcess(name, binary string, args []string, logDir string) (*Process, error) {
	p, err := startProcess(name, binary, args, nil, logDir)
	if err != nil {
		return nil, err
	}
	return &Process{p}, nil
}

// Stop sends SIGTERM and kills the process if it has not exited within grace.
func (p *Process) Stop(grace time.Duration) error { return p.p.stop(grace) }

// Kill ends the process with SIGKILL, as a crash would, and waits until it has.
func (p *Process) Kill() error {
	if err := p.p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.p.name, err)
	}
	<-p.p.exited
	return nil
}

// WaitServes waits until url answers 200 over TLS verified with the CA in caFile, and
// fails if the process exits first or ctx ends; its errors end with the process's log.
func (p *Process) WaitServes(ctx context.Context, caFile, url string) error {
	client, err := trustingClient(caFile)
	if err != nil {
		return err
	}
	return p.p.waitReady(ctx, httpCheck(client, url))
}

// LogTail returns the last n lines of the process's log.
func (p *Process) LogTail(n int) string { return p.p.logTail(n) }

// PID returns the operating-system process ID, to read the process's memory.
func (p *Process) PID() int { return p.p.pid() }
