package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubia-dev/kubia/internal/images"
)

// Names of the node binaries, as built by hack/kube.
const (
	Kubelet              = "kubelet"
	KubeProxy            = "kube-proxy"
	Containerd           = "containerd"
	ContainerdShimRuncV2 = "containerd-shim-runc-v2"
	Ctr                  = "ctr"
	CoreDNS              = "coredns"
	kubeletHealthzPort   = 10248
	kubeProxyHealthzPort = 10256
	kubeProxyMetricsPort = 10249
	apiserverKubeletUser = "kube-apiserver-kubelet-client"
)

// nodeBinaries are the binaries a node needs besides the control plane's.
var nodeBinaries = []string{Containerd, ContainerdShimRuncV2, Ctr, Kubelet, KubeProxy, CoreDNS}

// NodeConfig asks for a node: kubelet, containerd and kube-proxy on this machine.
type NodeConfig struct {
	// ImageArchives are docker-archive tarballs imported into the node's containerd before
	// the kubelet starts; they must include images.Ref("pause") and images.Ref("coredns").
	ImageArchives []string
	// LockWait is how long to wait for another node on this machine to stop (only one can
	// run at a time); 0 fails at once.
	LockWait time.Duration
}

// node is the running node of a cluster.
type node struct {
	dirs   nodeDirs
	binDir string
	lock   *dataDirLock
	socket string
	// firstProc is the index of the node's first process in Cluster.procs.
	firstProc int
}

// prepareNode takes the machine-wide node lock, clears what an earlier run left and sets
// up the node address, which kube-apiserver then binds to.
func prepareNode(dataDir, binDir, nodeIP string, lockWait time.Duration) (*node, error) {
	if reason := NodeUnsupportedReason(binDir); reason != "" {
		return nil, fmt.Errorf("cannot run a node here: %s", reason)
	}
	lock, err := lockFile(nodeLockFile, "a Kubia node already runs on this machine (pid %s), and only one can; stop it first", lockWait)
	if err != nil {
		return nil, err
	}
	n := &node{dirs: newNodeDirs(dataDir), binDir: binDir, lock: lock}
	n.socket = filepath.Join(n.dirs.containerdState, "containerd.sock")
	if err := clearNodeHost(binDir); err != nil {
		lock.release()
		return nil, fmt.Errorf("clearing an earlier node's leftovers: %w", err)
	}
	if err := setUpNodeNetwork(nodeIP); err != nil {
		return nil, errors.Join(err, n.release())
	}
	return n, nil
}

// release clears the node from the machine and drops the machine-wide lock.
func (n *node) release() error {
	err := clearNodeHost(n.binDir)
	return errors.Join(err, n.lock.release())
}

// startNode starts containerd, imports the images, then the kubelet and kube-proxy, and
// waits for the Node to be Ready and cluster DNS to answer.
func (c *Cluster) startNode(ctx context.Context, bins map[string]string, creds credentials) error {
	n := c.node
	n.firstProc = len(c.procs)
	for _, dir := range []string{n.dirs.config, n.dirs.containerdRoot, n.dirs.containerdState, n.dirs.kubeletRoot, n.dirs.cniConf, n.dirs.cniIPAM} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := n.writeConfigs(creds, c.cfg.NodeIP); err != nil {
		return err
	}
	containerd, err := c.startWithEnv(bins[Containerd], []string{"--config", filepath.Join(n.dirs.config, "containerd.toml")},
		// The shim is found on PATH; runc comes from Debian (/usr/sbin).
		"PATH="+n.binDir+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	if err != nil {
		return err
	}
	if err := containerd.waitReady(ctx, n.containerdAnswers(bins[Ctr])); err != nil {
		return err
	}
	for _, archive := range c.cfg.Node.ImageArchives {
		if err := n.importImage(ctx, bins[Ctr], archive); err != nil {
			return err
		}
	}
	clientset, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	if err := allowAPIServerToKubelet(ctx, clientset); err != nil {
		return err
	}
	kubelet, err := c.start(bins[Kubelet], []string{
		"--config=" + filepath.Join(n.dirs.config, "kubelet.yaml"),
		"--kubeconfig=" + creds.kubeletConfig,
		"--root-dir=" + n.dirs.kubeletRoot,
		"--hostname-override=" + NodeName,
		"--node-ip=" + c.cfg.NodeIP,
	})
	if err != nil {
		return err
	}
	// kube-proxy at once, not after the Node is Ready: after a restart the kubelet starts
	// the pods it finds bound to the node right away, and until kube-proxy has written the
	// Service rules their connections to cluster IPs (the API server's among them) fail.
	proxy, err := c.start(bins[KubeProxy], []string{"--config=" + filepath.Join(n.dirs.config, "kube-proxy.yaml")})
	if err != nil {
		return err
	}
	if err := kubelet.waitReady(ctx, nodeReady(clientset)); err != nil {
		return err
	}
	if err := labelControlPlane(ctx, clientset); err != nil {
		return err
	}
	if err := proxy.waitReady(ctx, httpCheck(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", kubeProxyHealthzPort))); err != nil {
		return err
	}
	if err := deployClusterDNS(ctx, c.restConfig, clientset, kubelet); err != nil {
		return err
	}
	return c.startVolumeProvisioner(ctx, clientset)
}

// containerdAnswers checks that containerd serves its API on the node's socket.
func (n *node) containerdAnswers(ctr string) func(context.Context) error {
	return func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, ctr, "--address", n.socket, "version").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr version: %w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}

// importImage loads a docker-archive into the namespace the CRI plugin uses.
func (n *node) importImage(ctx context.Context, ctr, archive string) error {
	return importImage(ctx, ctr, n.socket, archive)
}

func importImage(ctx context.Context, ctr, socket, archive string) error {
	out, err := exec.CommandContext(ctx, ctr, "--address", socket, "--namespace", "k8s.io",
		"images", "import", "--local", archive).CombinedOutput()
	if err != nil {
		return fmt.Errorf("importing %s: %w: %s", archive, err, out)
	}
	return nil
}

// ImportImages loads image archives into the running node's containerd, so pods can use
// images rebuilt while the node runs.
func ImportImages(ctx context.Context, binDir string, archives []string) error {
	socket := filepath.Join(newNodeDirs("").containerdState, "containerd.sock")
	if _, err := os.Stat(socket); err != nil {
		return fmt.Errorf("no Kubia node runs on this machine (start one with kubia up): %w", err)
	}
	for _, archive := range archives {
		if err := importImage(ctx, filepath.Join(binDir, Ctr), socket, archive); err != nil {
			return err
		}
	}
	return nil
}

// labelControlPlane gives the node the role label of a single-node cluster's only node
// (the kubelet may not set node-role labels itself). It gets no taint: workloads run on it.
func labelControlPlane(ctx context.Context, clientset kubernetes.Interface) error {
	patch := []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`)
	if _, err := clientset.CoreV1().Nodes().Patch(ctx, NodeName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("labelling node %s: %w", NodeName, err)
	}
	return nil
}

// allowAPIServerToKubelet lets kube-apiserver's kubelet client identity use the
// kubelet's API (logs, exec, port-forward), which the kubelet authorizes through RBAC.
func allowAPIServerToKubelet(ctx context.Context, clientset kubernetes.Interface) error {
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia:kube-apiserver-kubelet-client"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: apiserverKubeletUser}},
	}
	_, err := clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding kube-apiserver's kubelet client: %w", err)
	}
	return nil
}

// nodeReady checks that the Node has registered and reports Ready.
func nodeReady(clientset kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		n, err := clientset.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("node %s not ready: %s", NodeName, cond.Message)
			}
		}
		return fmt.Errorf("node %s has no Ready condition yet", NodeName)
	}
}

func (n *node) writeConfigs(creds credentials, nodeIP string) error {
	files := map[string]string{
		"containerd.toml": n.containerdConfig(),
		"kubelet.yaml":    n.kubeletConfig(creds, nodeIP),
		"kube-proxy.yaml": n.kubeProxyConfig(creds, nodeIP),
	}
	files[filepath.Join(n.dirs.cniConf, "10-kubia.conflist")] = n.cniConfig()
	for name, content := range files {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(n.dirs.config, name)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return nil
}

func (n *node) containerdConfig() string {
	return `version = 4
root = ` + strconv.Quote(n.dirs.containerdRoot) + `
state = ` + strconv.Quote(n.dirs.containerdState) + `
imports = []

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = ` + strconv.Quote(n.socket) + `
  [plugins.'io.containerd.server.v1.ttrpc']
    address = ` + strconv.Quote(n.socket+".ttrpc") + `
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ` + strconv.Quote(images.Ref("pause")) + `
  [plugins.'io.containerd.cri.v1.runtime']
    # Required on these machines: without CAP_SYS_RESOURCE runc cannot write a negative
    # oom_score_adj, and every pod sandbox fails to start.
    restrict_oom_score_adj = true
    # Pod network namespaces under containerd's state dir (not /var/run/netns), so that
    # clearing the node after a killed run removes them, and their veths, with the rest.
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [` + strconv.Quote(cniBinDir) + `]
      conf_dir = ` + strconv.Quote(n.dirs.cniConf) + `
`
}

func (n *node) cniConfig() string {
	return `{
  "cniVersion": "1.0.0",
  "name": "kubia",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "` + bridgeLink + `",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "` + n.dirs.cniIPAM + `",
        "ranges": [[{"subnet": "` + PodCIDR + `", "gateway": "` + podGateway + `"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`
}

func (n *node) kubeletConfig(creds credentials, nodeIP string) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ` + nodeIP + `
healthzBindAddress: 127.0.0.1
healthzPort: ` + strconv.Itoa(kubeletHealthzPort) + `
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ` + creds.ca.certFile + `}
authorization: {mode: Webhook}
tlsCertFile: ` + creds.kubeletServing.CertFile + `
tlsPrivateKeyFile: ` + creds.kubeletServing.KeyFile + `
containerRuntimeEndpoint: unix://` + n.socket + `
cgroupDriver: cgroupfs
# These machines have cgroup v1 hierarchies and no swap accounting to rely on.
failCgroupV1: false
failSwapOn: false
clusterDNS: [` + ClusterDNSIP + `]
clusterDomain: cluster.local
# Pods with dnsPolicy Default get no name servers: nothing outside the machine is reachable.
resolvConf: ""
# Images are imported, not pulled: never let image GC remove one.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
serializeImagePulls: false
`
}

func (n *node) kubeProxyConfig(creds credentials, nodeIP string) string {
	return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: ` + creds.kubeProxyConfig + `
hostnameOverride: ` + NodeName + `
bindAddress: ` + nodeIP + `
healthzBindAddress: 127.0.0.1:` + strconv.Itoa(kubeProxyHealthzPort) + `
metricsBindAddress: 127.0.0.1:` + strconv.Itoa(kubeProxyMetricsPort) + `
clusterCIDR: ` + PodCIDR + `
# Leave the machine's conntrack limits alone; this VM may not allow changing them.
conntrack:
  maxPerCore: 0
`
}
