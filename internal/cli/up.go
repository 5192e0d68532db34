package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubia-dev/kubia/internal/localcluster"
)

// ReadyMessage starts the line `kubia up` prints once everything runs; scripts and
// tests wait for it.
const ReadyMessage = "Kubia is ready"

type upOptions struct {
	dataDir       string
	fresh         bool
	apiserverPort int
}

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
			return runUp(logr.NewContext(ctx, log), opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&opts.dataDir, "data-dir", ".kubia", "directory holding the platform's state, logs and kubeconfig")
	cmd.Flags().BoolVar(&opts.fresh, "fresh", false, "wipe the data directory's earlier state before starting")
	cmd.Flags().IntVar(&opts.apiserverPort, "apiserver-port", 6443, "kube-apiserver port on 127.0.0.1 (0 picks a free port)")
	return cmd
}

// runUp starts the platform, reports readiness on out and blocks until ctx ends or a
// component fails, then stops everything.
func runUp(ctx context.Context, opts upOptions, out io.Writer) error {
	log := logr.FromContextOrDiscard(ctx)
	dataDir, err := filepath.Abs(opts.dataDir)
	if err != nil {
		return fmt.Errorf("resolving data dir: %w", err)
	}
	began := time.Now()
	log.Info("Starting the control plane", "dataDir", dataDir, "fresh", opts.fresh)
	cluster, err := localcluster.Start(ctx, localcluster.Config{DataDir: dataDir, APIServerPort: opts.apiserverPort, Fresh: opts.fresh})
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	log.Info("Control plane ready", "kubeconfig", cluster.KubeconfigPath(), "took", time.Since(began).Round(time.Millisecond))
	fmt.Fprintf(out, "%s (%s): export KUBECONFIG=%s; kubectl get ns\n",
		ReadyMessage, time.Since(began).Round(100*time.Millisecond), cluster.KubeconfigPath())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("Stopping on signal")
	case runErr = <-cluster.Failed():
		log.Error(runErr, "A component failed; stopping everything")
	}
	stopped := time.Now()
	if err := cluster.Stop(); err != nil {
		log.Error(err, "Stopping the control plane")
		if runErr == nil {
			runErr = err
		}
	}
	log.Info("Stopped", "took", time.Since(stopped).Round(time.Millisecond))
	return runErr
}
