package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const lockFileName = "lock"

// dataDirLock is an exclusive lock on a file, held while a cluster (or node) runs.
// It is an flock(2), so the kernel drops it when its holder dies, however it dies.
type dataDirLock struct{ file *os.File }

// lockDataDir takes the lock of dir or fails at once, naming the holder's PID.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w", dir, err)
	}
	return lockFile(filepath.Join(dir, lockFileName),
		fmt.Sprintf("data dir %s is in use by another running cluster (pid %%s); stop it first or use another data dir", dir), 0)
}

// lockFile takes an exclusive lock on path (creating it), waiting at most wait for its
// holder to let go, or fails with busy, whose %s becomes the holder's PID.
func lockFile(path, busy string, wait time.Duration) (*dataDirLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := flockWithin(f, wait); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf(busy, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := writeHolderPID(f); err != nil {
		f.Close()
		return nil, err
	}
	return &dataDirLock{file: f}, nil
}

// flockWithin takes an exclusive flock on f, retrying until wait has passed.
func flockWithin(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func writeHolderPID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("writing lock holder: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("writing lock holder: %w", err)
	}
	return nil
}

// release drops the lock; the file stays, so a waiting reader never sees it vanish.
func (l *dataDirLock) release() error {
	return l.file.Close()
}

// wipeDataDir removes everything in dir but the lock file, for a fresh start.
func wipeDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading data dir: %w", err)
	}
	for _, e := range entries {
		if e.Name() == lockFileName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("wiping data dir: %w", err)
		}
	}
	return nil
}
