// Command kubia-sync is a Website's sync sidecar: it keeps a directory in sync with a Git
// repository, publishing each revision atomically through a symlink, and serves
// /healthz (ready after the first sync), POST /sync (push webhook) and /status.
package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubia-dev/kubia/internal/gitsync"
)

func main() {
	var s gitsync.Syncer
	var interval time.Duration
	var listen, credentials string
	flag.StringVar(&s.Repo, "repo", "", "URL of the Git repository")
	flag.StringVar(&s.Ref, "ref", "", "branch, tag or full commit SHA (default: the remote's HEAD)")
	flag.StringVar(&s.Root, "root", "/site", "directory the revisions are published in")
	flag.StringVar(&s.Link, "link", "html", "name of the symlink, in root, to the published revision")
	flag.DurationVar(&interval, "interval", time.Minute, "how often to poll the repository")
	flag.StringVar(&listen, "listen", ":8081", "address of the health, webhook and status endpoints")
	flag.StringVar(&credentials, "credentials", "", "directory with username+password, token, or identity+known_hosts")
	flag.Parse()
	log := zap.New()
	if err := run(logr.NewContext(context.Background(), log), &s, interval, listen, credentials); err != nil {
		log.Error(err, "kubia-sync failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, s *gitsync.Syncer, interval time.Duration, listen, credentials string) error {
	if s.Repo == "" {
		return errors.New("--repo is required")
	}
	// Read at every sync, so a fixed Secret applies without a restart and a wrong one is
	// reported on /status instead of crash-looping.
	s.CredentialsDir = credentials
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := gitsync.NewRunner(s, interval)
	server := &http.Server{Addr: listen, Handler: runner.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	go runner.Run(ctx)
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
