package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RSSMiB returns the resident memory of process pid in MiB, for benchmarks.
func RSSMiB(pid int) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kib) / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// KillContainer sends SIGKILL to the processes of the pod's container running command
// (the executable's base name), found on the node by the pod's cgroup: a crash, which
// neither the kubelet nor the process sees coming.
func KillContainer(t testing.TB, namespace, pod, command string) {
	t.Helper()
	p := &corev1.Pod{}
	if err := Get(t).Client.Get(t.Context(), client.ObjectKey{Name: pod, Namespace: namespace}, p); err != nil {
		t.Fatal(err)
	}
	// The cgroupfs driver names the pod's cgroup pod<uid>, the systemd driver with
	// underscores for dashes.
	uids := []string{"pod" + string(p.UID), "pod" + strings.ReplaceAll(string(p.UID), "-", "_")}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	killed := 0
	for _, proc := range procs {
		cgroup, err := os.ReadFile(filepath.Join(proc, "cgroup"))
		if err != nil || !strings.Contains(string(cgroup), uids[0]) && !strings.Contains(string(cgroup), uids[1]) {
			continue
		}
		exe, err := os.Readlink(filepath.Join(proc, "exe"))
		if err != nil || filepath.Base(exe) != command {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(proc))
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing %s (pid %d) of pod %s: %v", command, pid, pod, err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("no %s process of pod %s found on the node", command, pod)
	}
}

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux architecture Go
// builds for (the kernel's internal HZ differs, but /proc converts).
const userHZ = 100

// CPUSeconds returns the CPU time (user and system, all threads) process pid has used,
// for benchmarks that tell where a phase's time went.
func CPUSeconds(pid int) (float64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces and parentheses: fields count
	// from after the last ')', where the third field (state) comes first.
	end := strings.LastIndexByte(string(stat), ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(stat)[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return ticksToSeconds(fields[11:13]) // utime and stime, fields 14 and 15
}

// MachineCPUSeconds returns the CPU time all processes on the machine have used since
// boot (every state but idle and iowait), to compare a phase's processes with the rest.
func MachineCPUSeconds() (float64, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	return ticksToSeconds(append(fields[1:4:4], fields[6:9]...))
}

func ticksToSeconds(fields []string) (float64, error) {
	total := 0
	for _, f := range fields {
		ticks, err := strconv.Atoi(f)
		if err != nil {
			return 0, fmt.Errorf("CPU time %q: %w", f, err)
		}
		total += ticks
	}
	return float64(total) / userHZ, nil
}
