// Package localcluster runs a real Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) and, as root, a node (containerd, kubelet,
// kube-proxy, CoreDNS) from upstream binaries, as local processes.
// `kubia up` and the integration-test harness both use it, so what the tests prove is
// what users run.
package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Addresses of the cluster. Everything lives in 198.18.0.0/15, a range reserved for
// benchmarking networks, so nothing a cluster does can reach a real network.
const (
	// DefaultNodeIP is the address the API server advertises (and, with a node, the node's).
	DefaultNodeIP = "198.18.0.1"
	// ServiceCIDR is the range of Service cluster IPs.
	ServiceCIDR = "198.19.0.0/16"
	// kubernetesServiceIP is the first address of ServiceCIDR, taken by Service "kubernetes".
	kubernetesServiceIP = "198.19.0.1"
)

const (
	// stopGrace is how long one component gets to exit after SIGTERM; with three stop
	// steps this keeps a whole stop well under the 15 s that `kubia up` promises.
	stopGrace = 4 * time.Second
	// startTimeout bounds a whole start; a healthy one takes seconds (a first node start
	// also imports images).
	startTimeout = 5 * time.Minute
	// portAttempts is how often Start retries when a freshly picked free port was taken
	// by someone else before the component bound it.
	portAttempts = 3
)

// Config says where a cluster keeps its state and how it is reached.
type Config struct {
	// DataDir holds everything the cluster keeps: etcd data, PKI, kubeconfigs and logs.
	// Starting again on the same DataDir resumes the same cluster.
	DataDir string
	// BinDir holds the upstream binaries; empty means DefaultBinDir().
	BinDir string
	// APIServerPort is kube-apiserver's secure port on 127.0.0.1; 0 picks a free port.
	APIServerPort int
	// NodeIP is the address kube-apiserver advertises; empty means DefaultNodeIP.
	NodeIP string
	// Fresh wipes DataDir's earlier state before starting.
	Fresh bool
	// Node, when set, adds a node on this machine (root only), so pods really run.
	Node *NodeConfig
}

// Cluster is a running control plane.
type Cluster struct {
	cfg        Config
	dirs       layout
	lock       *dataDirLock
	node       *node // nil without a node
	procs      []*process
	restConfig *rest.Config
	stopping   atomic.Bool
	failed     chan error
	stopOnce   sync.Once
	stopErr    error
	// stopVolumes stops the node's volume provisioner; nil without one.
	stopVolumes func()
	// controllerManagerHealthy checks kube-controller-manager's /healthz.
	controllerManagerHealthy func(context.Context) error
}

// Component names one running process of the cluster.
type Component struct {
	Name string
	PID  int
}

// layout names the files and directories of a cluster under its DataDir.
type layout struct {
	etcd, pki, logs, kubeconfig string
}

func newLayout(dataDir string) layout {
	return layout{
		etcd:       filepath.Join(dataDir, "etcd"),
		pki:        filepath.Join(dataDir, "pki"),
		logs:       filepath.Join(dataDir, "logs"),
		kubeconfig: filepath.Join(dataDir, "kubeconfig"),
	}
}

// Start brings up etcd, kube-apiserver, kube-controller-manager and kube-scheduler and,
// with Config.Node, the node; it returns once all are healthy, the default ServiceAccount
// exists (so Pods can be created) and, with a node, the Node is Ready and cluster DNS
// serves. On error nothing it started is left running. Only one cluster at a time may run
// on a DataDir; a second Start fails at once.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cfg.Fresh {
		if err := wipeDataDir(cfg.DataDir); err != nil {
			return nil, errors.Join(err, lock.release())
		}
	}
	var n *node
	if cfg.Node != nil {
		if n, err = prepareNode(cfg.DataDir, cfg.BinDir, cfg.NodeIP, cfg.Node.LockWait); err != nil {
			return nil, errors.Join(err, lock.release())
		}
	}
	for attempt := 1; attempt <= portAttempts; attempt++ {
		var c *Cluster
		if c, err = startOnce(ctx, cfg, n); err == nil {
			c.lock = lock
			return c, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if n != nil {
		err = errors.Join(err, n.release())
	}
	return nil, errors.Join(err, lock.release())
}

func (cfg *Config) complete() error {
	if cfg.DataDir == "" {
		return errors.New("localcluster: DataDir is required")
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("resolving data dir: %w", err)
	}
	cfg.DataDir = abs
	if cfg.BinDir == "" {
		if cfg.BinDir, err = DefaultBinDir(); err != nil {
			return err
		}
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = DefaultNodeIP
	}
	if net.ParseIP(cfg.NodeIP) == nil {
		return fmt.Errorf("localcluster: NodeIP %q is not an IP address", cfg.NodeIP)
	}
	if cfg.APIServerPort != 0 {
		if err := checkPortFree(cfg.APIServerPort); err != nil {
			return err
		}
	}
	return nil
}

func startOnce(ctx context.Context, cfg Config, n *node) (*Cluster, error) {
	c := &Cluster{cfg: cfg, dirs: newLayout(cfg.DataDir), failed: make(chan error, 1), node: n}
	for _, dir := range []string{c.dirs.etcd, c.dirs.pki, c.dirs.logs} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	needed := controlPlaneBinaries
	if n != nil {
		needed = append(slices.Clone(needed), nodeBinaries...)
	}
	bins, err := binaryPaths(cfg.BinDir, needed)
	if err != nil {
		return nil, err
	}
	p, err := allocatePorts(cfg.APIServerPort)
	if err != nil {
		return nil, err
	}
	creds, err := ensureCredentials(c.dirs, cfg.NodeIP, c.apiserverHost(), p)
	if err != nil {
		return nil, err
	}
	if c.restConfig, err = clientcmd.BuildConfigFromFlags("", c.dirs.kubeconfig); err != nil {
		return nil, fmt.Errorf("loading admin kubeconfig: %w", err)
	}
	c.restConfig.QPS, c.restConfig.Burst = 1000, 2000

	if err := c.startAll(ctx, bins, creds, p); err != nil {
		_ = c.stopProcesses()
		return nil, err
	}
	c.watchForExits()
	return c, nil
}

// startAll starts the components in dependency order, each once the previous is ready.
func (c *Cluster) startAll(ctx context.Context, bins map[string]string, creds credentials, p ports) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	etcd, err := c.start(bins[Etcd], etcdArgs(c.dirs, p))
	if err != nil {
		return err
	}
	if err := etcd.waitReady(ctx, httpCheck(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", p.etcdClient))); err != nil {
		return err
	}
	apiserver, err := c.start(bins[KubeAPIServer], apiserverArgs(c.dirs, creds, p, c.cfg.NodeIP, c.apiserverHost(), c.node != nil))
	if err != nil {
		return err
	}
	adminClient, err := rest.HTTPClientFor(c.restConfig)
	if err != nil {
		return fmt.Errorf("building admin HTTP client: %w", err)
	}
	if err := apiserver.waitReady(ctx, httpCheck(adminClient, c.restConfig.Host+"/readyz")); err != nil {
		return err
	}
	componentClient, err := trustingClient(creds.ca.certFile)
	if err != nil {
		return err
	}
	// The controller manager and the scheduler only need the API server, so they start together.
	manager, err := c.start(bins[KubeControllerManager], controllerManagerArgs(creds, p))
	if err != nil {
		return err
	}
	scheduler, err := c.start(bins[KubeScheduler], schedulerArgs(creds, p))
	if err != nil {
		return err
	}
	c.controllerManagerHealthy = httpCheck(componentClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.controllerManager))
	if err := manager.waitReady(ctx, c.controllerManagerHealthy); err != nil {
		return err
	}
	if err := scheduler.waitReady(ctx, httpCheck(componentClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", p.scheduler))); err != nil {
		return err
	}
	if err := manager.waitReady(ctx, c.defaultServiceAccountExists); err != nil {
		return err
	}
	if c.node == nil {
		return nil
	}
	// Pods reach the API server through Service kubernetes. After a restart its endpoints
	// may be the previous run's: kube-apiserver keeps the port of endpoints whose address
	// is right, so a killed run's stay on that run's port. Pods started then cannot reach
	// the API server, and the kubelet's crash-loop backoff keeps them down for minutes.
	// Start the node once they are this run's.
	if err := apiserver.waitReady(ctx, c.kubernetesEndpointsCurrent(p.apiserver)); err != nil {
		return err
	}
	return c.startNode(ctx, bins, creds)
}

// kubernetesEndpointsCurrent checks that Service kubernetes's EndpointSlice, which
// kube-proxy routes by, lists this run's API server address and port. Stale ones are
// deleted, so that kube-apiserver's endpoint reconciler writes them anew (every 10 s).
func (c *Cluster) kubernetesEndpointsCurrent(port int) func(context.Context) error {
	return func(ctx context.Context) error {
		cfg := rest.CopyConfig(c.restConfig)
		cfg.WarningHandler = rest.NoWarnings{} // v1 Endpoints is deprecated, but it is what kube-apiserver keeps
		clientset, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		slice, err := clientset.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Get(ctx, kubernetesService, metav1.GetOptions{})
		if err != nil {
			return err // NotFound too: kube-apiserver creates it
		}
		if endpointSliceServes(slice, c.cfg.NodeIP, port) {
			return nil
		}
		for _, del := range []func(context.Context, string, metav1.DeleteOptions) error{
			clientset.CoreV1().Endpoints(metav1.NamespaceDefault).Delete,
			clientset.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Delete,
		} {
			if err := del(ctx, kubernetesService, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting the stale endpoints of Service kubernetes: %w", err)
			}
		}
		return fmt.Errorf("Service kubernetes's endpoints were not %s:%d; deleted them for kube-apiserver to rewrite", c.cfg.NodeIP, port)
	}
}

// kubernetesService is the Service (and the Endpoints and EndpointSlice) through which
// pods reach kube-apiserver.
const kubernetesService = "kubernetes"

// endpointSliceServes tells whether slice sends traffic to ip:port.
func endpointSliceServes(slice *discoveryv1.EndpointSlice, ip string, port int) bool {
	hasPort := slices.ContainsFunc(slice.Ports, func(p discoveryv1.EndpointPort) bool {
		return p.Port != nil && int(*p.Port) == port
	})
	return hasPort && slices.ContainsFunc(slice.Endpoints, func(e discoveryv1.Endpoint) bool {
		return slices.Contains(e.Addresses, ip)
	})
}

// apiserverHost is where kube-apiserver listens: loopback, or with a node the node
// address, which pods can reach too (their loopback is their own).
func (c *Cluster) apiserverHost() string {
	if c.node != nil {
		return c.cfg.NodeIP
	}
	return "127.0.0.1"
}

func (c *Cluster) start(binary string, args []string) (*process, error) {
	return c.startWithEnv(binary, args)
}

// startWithEnv starts binary with extra environment variables.
func (c *Cluster) startWithEnv(binary string, args []string, env ...string) (*process, error) {
	p, err := startProcess(filepath.Base(binary), binary, args, env, c.dirs.logs)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// defaultServiceAccountExists reports whether the controller manager has created the
// "default" ServiceAccount, without which the API server rejects Pods in that namespace.
func (c *Cluster) defaultServiceAccountExists(ctx context.Context) error {
	clientset, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	_, err = clientset.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return errors.New("ServiceAccount default/default not created yet")
	}
	return err
}

// watchForExits reports the first component that exits while the cluster is not stopping.
func (c *Cluster) watchForExits() {
	for _, p := range c.procs {
		c.watchForExit(p)
	}
}

func (c *Cluster) watchForExit(p *process) {
	go func() {
		<-p.exited
		if c.stopping.Load() || p.replaced.Load() {
			return
		}
		select {
		case c.failed <- fmt.Errorf("%s exited unexpectedly (%v); end of its log:\n%s", p.name, p.err, p.logTail(20)):
		default:
		}
	}()
}

// RestartControllerManager stops kube-controller-manager and starts it again with the
// same flags, then waits until it is healthy: its informers list and watch afresh, as
// after a rollout. Tests need it after kube-aggregator moves an API group to another
// server: watches opened before keep reading the old one. Not to be called concurrently
// with Stop.
func (c *Cluster) RestartControllerManager(ctx context.Context) error {
	i := slices.IndexFunc(c.procs, func(p *process) bool { return p.name == KubeControllerManager })
	if i < 0 || c.stopping.Load() {
		return errors.New("localcluster: kube-controller-manager does not run")
	}
	old := c.procs[i]
	old.replaced.Store(true)
	if err := old.stop(stopGrace); err != nil {
		return err
	}
	// It was started without extra environment variables (start, not startWithEnv).
	p, err := startProcess(old.name, old.cmd.Path, old.cmd.Args[1:], nil, c.dirs.logs)
	if err != nil {
		return err
	}
	c.procs[i] = p
	c.watchForExit(p)
	return p.waitReady(ctx, c.controllerManagerHealthy)
}

// Failed delivers an error when a component exits on its own while the cluster runs.
func (c *Cluster) Failed() <-chan error { return c.failed }

// Stop stops the components in the reverse order of their start: each gets SIGTERM,
// then SIGKILL after a grace period. With a node, the pods are stopped right after the
// node's processes, so none holds the API server's shutdown up with a watch, and the
// node's traces (mounts, interfaces, iptables rules) are cleared from the machine once
// the control plane is gone: it listens on the node address. Safe to call repeatedly.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		if c.stopVolumes != nil {
			c.stopVolumes()
		}
		var errs []error
		controlPlane := c.procs
		if c.node != nil {
			controlPlane = c.procs[:c.node.firstProc]
			errs = append(errs, stopInReverse(c.procs[c.node.firstProc:]), killProcesses(c.node.binDir))
		}
		errs = append(errs, stopInReverse(controlPlane))
		if c.node != nil {
			errs = append(errs, c.node.release())
		}
		if c.lock != nil {
			errs = append(errs, c.lock.release())
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// stopProcesses stops what a failed start had started; Start then releases the node.
func (c *Cluster) stopProcesses() error {
	c.stopping.Store(true)
	return stopInReverse(c.procs)
}

func stopInReverse(procs []*process) error {
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		errs = append(errs, procs[i].stop(stopGrace))
	}
	return errors.Join(errs...)
}

// NodeIP is the address kube-apiserver advertises, which is also the node's: where
// hostPorts (kubia-router's 80 and 443) answer.
func (c *Cluster) NodeIP() string { return c.cfg.NodeIP }

// HasNode tells whether the cluster runs a node.
func (c *Cluster) HasNode() bool { return c.node != nil }

// KubeconfigPath is the admin kubeconfig (user "kubia-admin", group system:masters).
func (c *Cluster) KubeconfigPath() string { return c.dirs.kubeconfig }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Components lists the running processes, in start order.
func (c *Cluster) Components() []Component {
	out := make([]Component, 0, len(c.procs))
	for _, p := range c.procs {
		out = append(out, Component{Name: p.name, PID: p.pid()})
	}
	return out
}

// LogTails returns the last n lines of every component's log, for failure reports.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "----- %s (%s) -----\n%s\n", p.name, p.logPath, p.logTail(n))
	}
	return b.String()
}

func httpCheck(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// trustingClient is an HTTP client that trusts only the cluster's CA.
func trustingClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// ports are the loopback ports one cluster listens on.
type ports struct {
	etcdClient, etcdPeer, apiserver, controllerManager, scheduler int
}

func allocatePorts(apiserverPort int) (ports, error) {
	free, err := FreePorts(5)
	if err != nil {
		return ports{}, err
	}
	p := ports{etcdClient: free[0], etcdPeer: free[1], apiserver: free[2], controllerManager: free[3], scheduler: free[4]}
	if apiserverPort != 0 {
		p.apiserver = apiserverPort
	}
	return p, nil
}

// FreePorts asks the kernel for n distinct free loopback ports. They are released before
// the components bind them, so another process may take one first; Start retries then.
func FreePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("kube-apiserver port %d on 127.0.0.1 is not free: %w", port, err)
	}
	return l.Close()
}
