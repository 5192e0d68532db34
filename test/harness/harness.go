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
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/localcluster"
)

// startTimeout bounds the control plane's start; it takes seconds on a healthy machine.
const startTimeout = 3 * time.Minute

// Env is the cluster the tests of one binary share.
type Env struct {
	Cluster   *localcluster.Cluster
	Config    *rest.Config
	Client    client.Client
	Clientset kubernetes.Interface
	Scheme    *runtime.Scheme
}

var env *Env

// Main starts a control plane, runs the tests, prints the components' logs if a test
// failed, then stops the control plane and removes its data. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dataDir, err := os.MkdirTemp("", "kubia-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	defer os.RemoveAll(dataDir)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	cluster, err := localcluster.Start(ctx, localcluster.Config{DataDir: dataDir})
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
	fmt.Fprintf(os.Stderr, "harness: control plane ready in %s (data dir %s)\n", time.Since(began).Round(time.Millisecond), dataDir)

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "harness: a test failed; end of each component's log:\n%s", cluster.LogTails(40))
	}
	return code
}

func newEnv(cluster *localcluster.Cluster) (*Env, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
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
