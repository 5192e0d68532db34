// Command kubia-broker is an Open Service Broker (API 2.13–2.17) whose service,
// postgres-database, provisions PostgreSQL servers in the cluster of its kubeconfig or
// in-cluster service account. Its HTTP basic-auth credentials come from the environment
// (KUBIA_BROKER_USERNAME, KUBIA_BROKER_PASSWORD).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/pgbroker"
)

func main() {
	var opts pgbroker.Options
	var listen, storageClass string
	var resync time.Duration
	flag.StringVar(&listen, "listen", ":8080", "address of the broker's HTTP API")
	flag.StringVar(&opts.Namespace, "namespace", "kubia-broker-instances", "namespace of the instances' servers (the broker's own)")
	flag.StringVar(&opts.Image, "postgres-image", images.Ref("postgres"), "PostgreSQL 15 image of the servers")
	flag.StringVar(&storageClass, "storage-class", "", "StorageClass of the premium plan's volumes (default: the cluster's default)")
	flag.StringVar(&opts.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain, for the instances' host names")
	flag.DurationVar(&resync, "resync", 5*time.Second, "how often operations in progress are advanced without being polled")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if storageClass != "" {
		opts.StorageClass = &storageClass
	}
	log := zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(log)
	if err := run(ctrl.SetupSignalHandler(), log, listen, opts, resync); err != nil {
		log.Error(err, "kubia-broker failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, log logr.Logger, listen string, opts pgbroker.Options, resync time.Duration) error {
	creds := osb.Credentials{Username: os.Getenv("KUBIA_BROKER_USERNAME"), Password: os.Getenv("KUBIA_BROKER_PASSWORD")}
	if creds.Username == "" || creds.Password == "" {
		return errors.New("KUBIA_BROKER_USERNAME and KUBIA_BROKER_PASSWORD must be set")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	broker := pgbroker.New(c, opts, log)
	handler, err := broker.Handler(creds)
	if err != nil {
		return err
	}
	server := &http.Server{Addr: listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go broker.Run(ctx, resync)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	log.Info("Serving the Open Service Broker API", "address", listen, "namespace", opts.Namespace)
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
