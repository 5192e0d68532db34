package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// Host-wide names of the node. Only one node can run per machine (two would fight over
// iptables chains, the bridge and the node address), so these are fixed, which also lets
// a start find and clear whatever a killed earlier run left behind.
const (
	// NodeName is the name of the node's Node object.
	NodeName = "kubia-node"
	// nodeLink holds the node address: a bridge without ports, which acts as a dummy
	// interface (these machines' kernels have no dummy driver).
	nodeLink = "kubia0"
	// bridgeLink is the pods' bridge, created by the CNI bridge plugin.
	bridgeLink = "kubia-br0"
	// nodeStateDir holds containerd's content store (kept, so images import once) and the
	// kubelet's root (cleared on every start and stop).
	nodeStateDir = "/var/lib/kubia/node"
	// nodeRunDir holds containerd's state and sockets.
	nodeRunDir = "/run/kubia/node"
	// nodeLockFile serializes nodes machine-wide.
	nodeLockFile = "/run/kubia/node.lock"
	// kubepodsCgroup is the cgroup under which the kubelet (cgroupfs driver) puts pods.
	kubepodsCgroup = "kubepods"
	cgroupRoot     = "/sys/fs/cgroup"
)

// Pod and DNS addresses, inside 198.18.0.0/15 like every other address of the cluster.
const (
	// PodCIDR is the range pod addresses come from.
	PodCIDR = "198.18.128.0/24"
	// podGateway is the bridge's address, the pods' default gateway.
	podGateway = "198.18.128.1"
	// ClusterDNSIP is the address of Service kube-system/kube-dns.
	ClusterDNSIP = "198.19.0.10"
)

// nodeDirs are the node's working directories.
type nodeDirs struct {
	containerdRoot, containerdState, kubeletRoot, cniConf, cniIPAM, config string
}

func newNodeDirs(dataDir string) nodeDirs {
	return nodeDirs{
		containerdRoot:  filepath.Join(nodeStateDir, "containerd"),
		containerdState: filepath.Join(nodeRunDir, "containerd"),
		kubeletRoot:     filepath.Join(nodeStateDir, "kubelet"),
		cniConf:         filepath.Join(nodeRunDir, "cni", "net.d"),
		cniIPAM:         filepath.Join(nodeRunDir, "cni", "ipam"),
		// Configuration is written anew each start; keep it beside the cluster's.
		config: filepath.Join(dataDir, "node"),
	}
}

// NodeUnsupportedReason says why this machine cannot run a node, or "" when it can:
// the node needs root on Linux, the Debian packages runc, containernetworking-plugins,
// iptables and conntrack, and the node binaries in binDir.
func NodeUnsupportedReason(binDir string) string {
	if os.Geteuid() != 0 {
		return "the node needs root (containers, network interfaces and iptables)"
	}
	for _, tool := range []string{"runc", "iptables", "conntrack"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("%s is not installed (make deps installs it)", tool)
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, plugin)); err != nil {
			return fmt.Sprintf("CNI plugin %s is missing from %s (make deps installs containernetworking-plugins)", plugin, cniBinDir)
		}
	}
	if _, err := binaryPaths(binDir, nodeBinaries); err != nil {
		return err.Error()
	}
	return ""
}

// cniBinDir is where Debian's containernetworking-plugins puts the plugins.
const cniBinDir = "/usr/lib/cni"

// setUpNodeNetwork gives the machine the node address on its own interface and turns on
// the forwarding and bridge filtering that kube-proxy's Service rules rely on.
func setUpNodeNetwork(nodeIP string) error {
	link := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: nodeLink}}
	if err := netlink.LinkAdd(link); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("creating interface %s: %w", nodeLink, err)
	}
	addr, err := netlink.ParseAddr(nodeIP + "/32")
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("adding %s to %s: %w", nodeIP, nodeLink, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing up %s: %w", nodeLink, err)
	}
	if err := routeServicesToNode(addr.IP); err != nil {
		return err
	}
	for _, sysctl := range changedSysctls {
		if err := setSysctl(sysctl, "1"); err != nil {
			return err
		}
	}
	return nil
}

// routeServicesToNode routes ServiceCIDR through the node interface, from the node
// address. Without it, this machine's connections to cluster IPs follow its default route:
// kube-proxy's rules turn them to a pod before they leave, but one made before the rules
// are written (or after they are gone) would go out to the network, and on a machine
// without a default route none could even start. The route goes with the interface.
func routeServicesToNode(nodeIP net.IP) error {
	_, services, err := net.ParseCIDR(ServiceCIDR)
	if err != nil {
		return err
	}
	// The interface may predate this run (LinkAdd then says EEXIST): look its index up.
	link, err := netlink.LinkByName(nodeLink)
	if err != nil {
		return fmt.Errorf("finding interface %s: %w", nodeLink, err)
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: services, Src: nodeIP, Scope: netlink.SCOPE_LINK}
	if err := netlink.RouteReplace(route); err != nil {
		return fmt.Errorf("routing %s through %s: %w", ServiceCIDR, nodeLink, err)
	}
	return nil
}

// changedSysctls are the kernel settings a node needs: forwarding, bridge filtering, and
// route_localnet so NodePorts answer on 127.0.0.1 (kube-proxy would set that one anyway).
// clearNodeHost puts back the values they had.
var changedSysctls = []string{"net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/ipv4/conf/all/route_localnet"}

// setSysctl sets a kernel setting, first saving its value in /run/kubia/sysctl unless a
// saved value is already there (from a killed earlier run: that one is the machine's own).
func setSysctl(name, value string) error {
	path := filepath.Join("/proc/sys", name)
	saved := savedSysctlPath(name)
	if _, err := os.Stat(saved); errors.Is(err, os.ErrNotExist) {
		original, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if err := os.MkdirAll(filepath.Dir(saved), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(saved, original, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	return nil
}

func savedSysctlPath(name string) string {
	return filepath.Join(filepath.Dir(nodeRunDir), "sysctl", strings.ReplaceAll(name, "/", "."))
}

// restoreSysctls puts back every saved kernel setting.
func restoreSysctls() error {
	var errs []error
	for _, name := range changedSysctls {
		saved, err := os.ReadFile(savedSysctlPath(name))
		if err != nil {
			continue // never changed
		}
		if err := os.WriteFile(filepath.Join("/proc/sys", name), saved, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restoring %s: %w", name, err))
			continue
		}
		os.Remove(savedSysctlPath(name))
	}
	return errors.Join(errs...)
}

// removeKubeChains deletes the iptables chains the kubelet creates (KUBE-FIREWALL,
// KUBE-KUBELET-CANARY, ...), which kube-proxy --cleanup leaves, with the rules that
// jump to them, in every table of IPv4 and IPv6.
func removeKubeChains() error {
	var errs []error
	for _, tool := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle"} {
			errs = append(errs, removeKubeChainsFrom(tool, table))
		}
	}
	return errors.Join(errs...)
}

func removeKubeChainsFrom(tool, table string) error {
	out, err := exec.Command(tool, "-w", "-t", table, "-S").Output()
	if err != nil {
		return fmt.Errorf("%s -t %s -S: %w", tool, table, err)
	}
	var chains []string
	var errs []error
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "-N" && strings.HasPrefix(fields[1], "KUBE-"):
			chains = append(chains, fields[1])
		case len(fields) > 2 && fields[0] == "-A" && !strings.HasPrefix(fields[1], "KUBE-") && slices.Contains(fields, "-j") &&
			strings.HasPrefix(fields[slices.Index(fields, "-j")+1], "KUBE-"):
			// iptables -S quotes arguments with spaces (comments); deleting by the
			// exact specification needs them unquoted, which a shell would do.
			del := exec.Command("sh", "-c", tool+" -w -t "+table+" -D "+strings.Join(fields[1:], " "))
			if out, err := del.CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w: %s", strings.Join(del.Args, " "), err, out))
			}
		}
	}
	for _, verb := range []string{"-F", "-X"} {
		for _, chain := range chains {
			if out, err := exec.Command(tool, "-w", "-t", table, verb, chain).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s -t %s %s %s: %w: %s", tool, table, verb, chain, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// clearNodeHost removes every trace of a node from the machine: leftover processes of
// its binaries and its pods, mounts, network interfaces, kube-proxy's iptables rules, pod
// cgroups and the kubelet's and CNI's state. A clean stop runs it, and so does every
// start, because a killed earlier run (CI kills every process of a session) left all of
// these behind.
func clearNodeHost(binDir string) error {
	var errs []error
	errs = append(errs, killProcesses(binDir))
	errs = append(errs, unmountUnder(nodeStateDir, nodeRunDir))
	for _, name := range []string{bridgeLink, nodeLink} {
		if link, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(link); err != nil {
				errs = append(errs, fmt.Errorf("deleting interface %s: %w", name, err))
			}
		}
	}
	if out, err := exec.Command(filepath.Join(binDir, KubeProxy), "--cleanup").CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %w: %s", err, out))
	}
	errs = append(errs, removeKubeChains(), restoreSysctls())
	errs = append(errs, removeCgroups(kubepodsCgroup))
	for _, dir := range []string{filepath.Join(nodeStateDir, "kubelet"), nodeRunDir} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// killProcesses stops every process in the pods' cgroups and every process running one
// of the node's binaries from binDir (containerd shims outlive containerd on purpose):
// SIGTERM first, so servers in pods can shut down cleanly, SIGKILL after podGrace.
// Control-plane processes are left alone: other clusters may be using them.
func killProcesses(binDir string) error {
	pids, err := podProcesses()
	if err != nil {
		return err
	}
	binaries, err := nodeBinaryProcesses(binDir)
	if err != nil {
		return err
	}
	pids = append(pids, binaries...)
	signalAll(pids, syscall.SIGTERM)
	if !waitGone(pids, podGrace) {
		signalAll(pids, syscall.SIGKILL)
		// The kernel needs a moment to tear them down before mounts and cgroups can go.
		waitGone(pids, 5*time.Second)
	}
	return nil
}

// podGrace is how long pods get to exit on SIGTERM when the node stops.
const podGrace = 2 * time.Second

func signalAll(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// waitGone waits until none of pids runs any more, at most for timeout.
func waitGone(pids []int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for processExists(pid) {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return true
}

func processExists(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) is gone for our purposes: its parent will reap it.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// podProcesses lists the processes in the kubelet's pod cgroups.
func podProcesses() ([]int, error) {
	var pids []int
	root := filepath.Join(cgroupRoot, "pids", kubepodsCgroup)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil || d.Name() != "cgroup.procs" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil // the cgroup went away meanwhile
		}
		for _, field := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(field); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids, err
}

// removeCgroups removes the named cgroup, children first, from every cgroup-v1 hierarchy.
func removeCgroups(name string) error {
	hierarchies, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return nil // no cgroup filesystem: nothing was created
	}
	var errs []error
	for _, h := range hierarchies {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(cgroupRoot, h.Name(), name), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs) // children before parents
		for _, dir := range dirs {
			if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount point below the given directories, deepest first.
func unmountUnder(dirs ...string) error {
	points, err := mountsUnder(dirs...)
	if err != nil {
		return err
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, point := range points {
		if err := syscall.Unmount(point, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", point, err))
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below the given directories.
func mountsUnder(dirs ...string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []string
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) < 5 {
			continue
		}
		point := unescapeMountPath(fields[4])
		for _, dir := range dirs {
			if point == dir || strings.HasPrefix(point, dir+"/") {
				points = append(points, point)
			}
		}
	}
	return points, lines.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// NodeHostLeftovers lists what of a node remains on this machine: processes of the node's
// binaries in binDir or in pod cgroups, mounts under the node's directories, its network
// interfaces and KUBE-* iptables chains. Empty after a clean stop. Hold LockNodeHost while
// calling it, or a node starting meanwhile shows up.
func NodeHostLeftovers(binDir string) ([]string, error) {
	var found []string
	pids, err := podProcesses()
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		found = append(found, fmt.Sprintf("pod process %d", pid))
	}
	binaries, err := nodeBinaryProcesses(binDir)
	if err != nil {
		return nil, err
	}
	for _, pid := range binaries {
		if processExists(pid) {
			found = append(found, fmt.Sprintf("node process %d", pid))
		}
	}
	mounts, err := mountsUnder(nodeStateDir, nodeRunDir)
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		found = append(found, "mount "+m)
	}
	for _, name := range []string{nodeLink, bridgeLink} {
		if _, err := netlink.LinkByName(name); err == nil {
			found = append(found, "network interface "+name)
		}
	}
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(tool).Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool, err)
		}
		for line := range strings.Lines(string(out)) {
			if strings.HasPrefix(line, ":KUBE-") {
				found = append(found, tool+" chain "+strings.Fields(line)[0][1:])
			}
		}
	}
	return found, nil
}

// nodeBinaryProcesses lists the processes (but this one) running one of the node's
// binaries from binDir.
func nodeBinaryProcesses(binDir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && filepath.Dir(exe) == binDir && slices.Contains(nodeBinaries, filepath.Base(exe)) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// LockNodeHost takes the machine-wide node lock, waiting at most wait, so no node starts
// while the caller inspects the machine. The returned function releases it.
func LockNodeHost(wait time.Duration) (func() error, error) {
	lock, err := lockFile(nodeLockFile, "a Kubia node runs on this machine (pid %s)", wait)
	if err != nil {
		return nil, err
	}
	return lock.release, nil
}
