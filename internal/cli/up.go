package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
)

// ReadyMessage starts the line `kubia up` prints once everything runs; scripts and
// tests wait for it.
const ReadyMessage = "Kubia is ready"

type upOptions struct {
	dataDir       string
	fresh         bool
	apiserverPort int
	node          string
	nodeLockWait  time.Duration
	websites      string
}

// Values of --websites.
const (
	websitesAggregated = "aggregated"
	websitesCRD        = "crd"
)

// Values of --node.
const (
	nodeAuto = "auto"
	nodeOn   = "on"
	nodeOff  = "off"
)

func newUpCommand() *cobra.Command {
	opts := upOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the local Kubia platform until interrupted",
		Long: `Starts a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) and every Kubia component, writes an admin kubeconfig to <data-dir>/kubeconfig
and runs until SIGINT or SIGTERM, then stops everything it started. State is kept in the data
directory across restarts; --fresh starts from scratch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := zap.New(zap.UseDevMode(false), zap.WriteTo(cmd.ErrOrStderr()), zap.ConsoleEncoder())
			ctrllog.SetLogger(log)
			return runUp(logr.NewContext(ctx, log), opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opts.dataDir, "data-dir", ".kubia", "directory holding the platform's state, logs and kubeconfig")
	cmd.Flags().BoolVar(&opts.fresh, "fresh", false, "wipe the data directory's earlier state before starting")
	cmd.Flags().IntVar(&opts.apiserverPort, "apiserver-port", 6443, "kube-apiserver port (0 picks a free port)")
	cmd.Flags().StringVar(&opts.node, "node", nodeAuto,
		"run a node so pods really run: auto (when this machine can: root, Linux, packages from make deps), on, off")
	cmd.Flags().StringVar(&opts.websites, "websites", websitesAggregated,
		"how Websites are served: aggregated (kubia-apiserver and its own etcd, on the node) or crd (the Website CRD; always without a node)")
	cmd.Flags().DurationVar(&opts.nodeLockWait, "node-lock-wait", 0,
		"how long to wait for another Kubia node on this machine to stop (only one can run); 0 fails at once")
	return cmd
}

// runUp starts the platform, reports readiness on out and blocks until ctx ends or a
// component fails, then stops everything.
func runUp(ctx context.Context, opts upOptions, out io.Writer) error {
	log := logr.FromContextOrDiscard(ctx)
	if opts.websites != websitesAggregated && opts.websites != websitesCRD {
		return fmt.Errorf("--websites must be aggregated or crd, not %q", opts.websites)
	}
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return fmt.Errorf("resolving data dir: %w", err)
	}
	began := time.Now()
	cfg := localcluster.Config{DataDir: dataDir, APIServerPort: opts.apiserverPort, Fresh: opts.fresh}
	if cfg.Node, err = nodeConfig(ctx, opts.node); err != nil {
		return err
	}
	if cfg.Node != nil {
		cfg.Node.LockWait = opts.nodeLockWait
	}
	log.Info("Starting the cluster", "dataDir", dataDir, "fresh", opts.fresh, "node", cfg.Node != nil)
	cluster, err := localcluster.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting the cluster: %w", err)
	}
	log.Info("Cluster ready", "kubeconfig", cluster.KubeconfigPath(), "took", time.Since(began).Round(time.Millisecond))
	stopControllers, controllersFailed := func() {}, (<-chan error)(nil)
	if cfg.Node != nil {
		// Pods can run: Kubia's components run in the cluster, installed by its chart, as
		// in production (so brokers are reached through cluster DNS).
		lines, err := installChart(ctx, cluster, dataDir, opts.websites)
		if err != nil {
			return errors.Join(err, cluster.Stop())
		}
		fmt.Fprint(out, lines)
	} else {
		if opts.websites == websitesAggregated {
			// kubia-apiserver runs as pods, like on any cluster: without a node, the CRD.
			log.Info("No node: Websites are served by the CRD (kubia-apiserver runs on the node)")
		}
		stopControllers, controllersFailed, err = startControllers(ctx, cluster)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("starting Kubia's controllers: %w", err), cluster.Stop())
	}
	fmt.Fprintf(out, "%s (%s): export KUBECONFIG=%s; kubectl get ns\n",
		ReadyMessage, time.Since(began).Round(100*time.Millisecond), cluster.KubeconfigPath())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("Stopping on signal")
	case runErr = <-cluster.Failed():
		log.Error(runErr, "A component failed; stopping everything")
	case runErr = <-controllersFailed:
		log.Error(runErr, "Kubia's controllers failed; stopping everything")
	}
	stopped := time.Now()
	stopControllers()
	if err := cluster.Stop(); err != nil {
		log.Error(err, "Stopping the control plane")
		if runErr == nil {
			runErr = err
		}
	}
	log.Info("Stopped", "took", time.Since(stopped).Round(time.Millisecond))
	return runErr
}

// nodeConfig decides whether to run a node and builds the images it imports: the node's
// own and the servers Kubia's features run (nginx, PostgreSQL).
func nodeConfig(ctx context.Context, mode string) (*localcluster.NodeConfig, error) {
	log := logr.FromContextOrDiscard(ctx)
	if mode != nodeAuto && mode != nodeOn && mode != nodeOff {
		return nil, fmt.Errorf("--node must be %s, %s or %s, not %q", nodeAuto, nodeOn, nodeOff, mode)
	}
	if mode == nodeOff {
		return nil, nil
	}
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return nil, err
	}
	if reason := localcluster.NodeUnsupportedReason(binDir); reason != "" {
		if mode == nodeOn {
			return nil, fmt.Errorf("--node=on, but %s", reason)
		}
		log.Info("Running the control plane only, without a node: " + reason)
		return nil, nil
	}
	began := time.Now()
	archives, err := buildImages(binDir)
	if err != nil {
		return nil, fmt.Errorf("building the node's images: %w", err)
	}
	log.Info("Images ready", "count", len(archives), "took", time.Since(began).Round(time.Millisecond))
	return &localcluster.NodeConfig{ImageArchives: archives}, nil
}

// startControllers installs Kubia's CRDs and runs kubia-controller-manager's controllers in
// this process, for a cluster without a node, where the chart's pods could not run (one
// instance, guarded by the data dir lock, so without leader election).
// It returns once they run, with a function that stops them and a channel that delivers
// their error if they stop on their own.
func startControllers(ctx context.Context, cluster *localcluster.Cluster) (stop func(), failed <-chan error, err error) {
	cfg := cluster.RESTConfig()
	if err := manager.InstallCRDs(ctx, cfg); err != nil {
		return nil, nil, err
	}
	mgr, err := manager.New(cfg, manager.Options{
		Images:      website.Images{WebServer: images.Ref("nginx"), Sync: images.Ref("kubia-sync")},
		MetricsAddr: "0", ProbeAddr: "0",
		// As fast as the local kube-controller-manager (QPS 1000).
		QPS: 1000, Burst: 2000, Workers: 8,
	})
	if err != nil {
		return nil, nil, err
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	errs := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(mgrCtx); err != nil {
			errs <- err
		}
	}()
	if !mgr.GetCache().WaitForCacheSync(mgrCtx) {
		cancel()
		<-done
		return nil, nil, errors.Join(errors.New("the controllers' cache did not sync"), drain(errs))
	}
	return func() { cancel(); <-done }, errs, nil
}

// drain returns the error waiting in errs, if any.
func drain(errs chan error) error {
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
