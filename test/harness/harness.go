// Package harness runs integration tests against a real local control plane: one per test
// binary, started by Main from TestMain, with a namespace per test.
//
//	func TestMain(m *testing.M) { harness.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		ns := harness.Namespace(t)
//		objs := harness.ApplyFile(t, ns, "testdata/thing.yaml")
//		harness.WaitFor(t, objs[0], time.Minute, "it is ready", func() error { ... })
//	}
package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/sourcetree"
)

// startTimeout bounds the cluster's start, which takes seconds on a healthy machine, plus
// waiting for another test binary's node to stop.
const startTimeout = 5*time.Minute + nodeLockWait

// Env is the cluster the tests of one binary share.
type Env struct {
	Cluster   *localcluster.Cluster
	Config    *rest.Config
	Client    client.Client
	Clientset kubernetes.Interface
	Scheme    *runtime.Scheme
}

var env *Env

// noNodeReason says why a node was asked for but not started ("" when it runs or was
// not asked for); RequireNode skips tests with it.
var noNodeReason string

// Option changes what Main starts.
type Option func(*options)

type options struct {
	node      bool
	crds      bool
	apiserver bool
	bothModes bool
	images    []images.Builder
}

// WithCRDs installs Kubia's CustomResourceDefinitions and waits until they are served.
func WithCRDs() Option {
	return func(o *options) { o.crds = true }
}

// WithWebsiteModes runs the package's tests twice, each time on a new cluster: with
// Websites served by the CRD, then by kubia-apiserver. It implies WithCRDs.
func WithWebsiteModes() Option {
	return func(o *options) { o.bothModes, o.crds = true, true }
}

// nodeLockWait is how long a test binary waits for another one's node to stop: packages
// run in parallel, and only one node can run per machine.
const nodeLockWait = 15 * time.Minute

// WithNode adds a node (kubelet, containerd, kube-proxy, cluster DNS) so pods really run,
// with the given images imported besides the node's own. Only one package's tests can own
// the machine's node at a time. Where the node cannot run (not root, packages missing),
// the control plane starts alone and RequireNode skips the tests that need a node, except
// on CI (CI set), where that is a failure. extra are images.Nginx and the like.
func WithNode(extra ...images.Builder) Option {
	return func(o *options) { o.node, o.images = true, extra }
}

// Main starts a control plane, runs the tests, prints the components' logs if a test
// failed, then stops the control plane and removes its data. Call it from TestMain.
func Main(m *testing.M, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// Controllers under test log through controller-runtime; errors are worth seeing.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	modes := []WebsiteMode{CRDMode}
	switch {
	case o.bothModes:
		modes = []WebsiteMode{CRDMode, AggregatedMode}
	case o.apiserver:
		modes = []WebsiteMode{AggregatedMode}
	}
	code := 0
	for _, mode := range modes {
		if len(modes) > 1 {
			fmt.Fprintf(os.Stderr, "harness: ===== Websites served by %s =====\n", mode)
		}
		if c := run(m, o, mode); c != 0 {
			fmt.Fprintf(os.Stderr, "harness: tests failed with Websites served by %s\n", mode)
			code = c
		}
	}
	os.Exit(code)
}

// WebsiteMode is how the cluster serves extensions.example.com.
type WebsiteMode string

const (
	// CRDMode serves Websites from the CustomResourceDefinition.
	CRDMode WebsiteMode = "the CRD"
	// AggregatedMode serves Websites from kubia-apiserver, through APIServices.
	AggregatedMode WebsiteMode = "kubia-apiserver"
)

var mode WebsiteMode

// Mode says how this run's cluster serves Websites, for the few assertions that differ.
func Mode() WebsiteMode { return mode }

func run(m *testing.M, o options, websiteMode WebsiteMode) int {
	mode, env, apiServer = websiteMode, nil, nil
	dataDir, err := os.MkdirTemp("", "kubia-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	cfg := localcluster.Config{DataDir: dataDir}
	if o.node {
		if cfg.Node, err = nodeConfig(o); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
	}
	cluster, err := localcluster.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness: starting the control plane:", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "harness: stopping the control plane:", err)
		}
	}()
	if env, err = newEnv(cluster); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	aggregated := websiteMode == AggregatedMode
	if o.crds {
		var except []string
		if aggregated {
			except = append(except, manager.WebsiteCRDName)
		}
		if err := manager.InstallCRDs(ctx, env.Config, except...); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
	}
	if aggregated {
		nodeIP := ""
		if cfg.Node != nil {
			nodeIP = localcluster.DefaultNodeIP
		}
		if apiServer, err = startAPIServer(ctx, cluster, dataDir, nodeIP); err != nil {
			fmt.Fprintln(os.Stderr, "harness: kubia-apiserver:", err)
			if apiServer != nil {
				apiServer.stop()
			}
			return 1
		}
		defer apiServer.stop()
	}
	fmt.Fprintf(os.Stderr, "harness: cluster ready in %s (node: %t, Websites served by %s, data dir %s)\n",
		time.Since(began).Round(time.Millisecond), cfg.Node != nil, websiteMode, dataDir)

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "harness: a test failed; end of each component's log:\n%s", cluster.LogTails(40))
		if apiServer != nil {
			fmt.Fprintf(os.Stderr, "harness: end of kubia-apiserver's log:\n%s", apiServer.logTail(40))
		}
		if cfg.Node != nil {
			fmt.Fprintf(os.Stderr, "harness: this machine's network:\n%s", hostNetworkReport())
		}
	}
	return code
}

// nodeConfig builds the images for a node, or returns nil (and sets noNodeReason) when
// this machine cannot run one and this is not CI.
func nodeConfig(o options) (*localcluster.NodeConfig, error) {
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return nil, err
	}
	if reason := localcluster.NodeUnsupportedReason(binDir); reason != "" {
		if os.Getenv("CI") != "" {
			return nil, fmt.Errorf("CI must run the node tests, but %s", reason)
		}
		noNodeReason = reason
		fmt.Fprintf(os.Stderr, "harness: no node, tests that need one are skipped: %s\n", reason)
		return nil, nil
	}
	archives, err := images.NodeArchives(binDir, o.images...)
	if err != nil {
		return nil, err
	}
	return &localcluster.NodeConfig{ImageArchives: archives, LockWait: nodeLockWait}, nil
}

// RequireNode skips the test, saying why, when the cluster has no node.
func RequireNode(t testing.TB) {
	t.Helper()
	if noNodeReason != "" {
		t.Skipf("needs a node, which cannot run here: %s", noNodeReason)
	}
}

func newEnv(cluster *localcluster.Cluster) (*Env, error) {
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	cfg := cluster.RESTConfig()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("building client: %w", err)
	}
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building clientset: %w", err)
	}
	return &Env{Cluster: cluster, Config: cfg, Client: c, Clientset: clientset, Scheme: scheme}, nil
}

// Get returns the shared environment; it fails the test when TestMain did not call Main.
func Get(t testing.TB) *Env {
	t.Helper()
	if env == nil {
		t.Fatal("harness: no cluster; the package's TestMain must call harness.Main(m)")
	}
	return env
}

// BookPath is the path of a manifest of the book that users apply, kept beside the
// repository in ../shared/book.
func BookPath(t testing.TB, name string) string {
	t.Helper()
	root, err := sourcetree.Root()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "..", "shared", "book", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the book's manifest %s: %v", name, err)
	}
	return path
}

// StartControllers runs Kubia's controllers (kubia-controller-manager's manager) in the
// test process with opts, until the returned function is called or the test ends.
// Metrics and probes are off, and several may run in one process.
func StartControllers(t testing.TB, opts manager.Options) (stop func()) {
	t.Helper()
	opts.MetricsAddr, opts.ProbeAddr, opts.SeveralPerProcess = "0", "0", true
	mgr, err := manager.New(Get(t).Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("controllers: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}
