// Command kubia-controller-manager runs Kubia's controllers (Website, ...) against the
// cluster of its kubeconfig or in-cluster service account.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/kubia-dev/kubia/internal/controller/servicemirror"
	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/osb"
)

func main() {
	var opts manager.Options
	flag.StringVar(&opts.Images.WebServer, "web-server-image", images.Ref("nginx"), "image of the Websites' web server (nginx on port 8080)")
	flag.StringVar(&opts.Images.Sync, "sync-image", images.Ref("kubia-sync"), "image of the Websites' Git sync sidecar (kubia-sync)")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "elect one active replica through a Lease")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the Lease (default: the pod's own)")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "address of Go's /debug/pprof profiles (empty: off)")
	var qps float64
	flag.Float64Var(&qps, "kube-api-qps", 200, "requests per second to the API server")
	flag.IntVar(&opts.Burst, "kube-api-burst", 400, "burst of requests to the API server")
	flag.IntVar(&opts.Workers, "workers", 8, "objects each controller reconciles at once")
	flag.DurationVar(&opts.BrokerRequestTimeout, "broker-request-timeout", osb.DefaultTimeout, "bound of each request to a Service Catalog broker (> 0)")
	flag.Func("namespace", "reconcile only this namespace's objects (repeatable; default: every namespace)", func(ns string) error {
		opts.Namespaces = append(opts.Namespaces, ns)
		return nil
	})
	flag.Func("mirror-service", "copy the endpoints of Service NAMESPACE/NAME to the selector-less Service NAME in TARGET_NAMESPACE (NAMESPACE/NAME=TARGET_NAMESPACE)", func(s string) error {
		m, err := servicemirror.ParseMirror(s)
		opts.ServiceMirror = &m
		return err
	})
	flag.BoolVar(&opts.IngressToRoute, "ingress-to-route", false, "turn Ingresses into Routes, as OpenShift does (route.openshift.io must be served, by kubia-apiserver)")
	flag.BoolVar(&opts.TemplateInstances, "template-instances", false, "run the TemplateInstance controller (template.openshift.io must be served, by kubia-apiserver)")
	flag.Func("template-instance-key", "Secret NAMESPACE/NAME of the key seeding TemplateInstances' generated parameter values, made on first use (default: kubia-templateinstance-key in the pod's namespace)", func(s string) error {
		ns, name, ok := strings.Cut(s, "/")
		if !ok || ns == "" || name == "" {
			return fmt.Errorf("want NAMESPACE/NAME, got %q", s)
		}
		opts.TemplateInstanceKey = types.NamespacedName{Namespace: ns, Name: name}
		return nil
	})
	flag.StringVar(&opts.StarterTemplatesNamespace, "starter-templates-namespace", "", "apply Kubia's starter templates into this namespace once template.openshift.io is served (empty: off; OpenShift's is \"openshift\")")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	opts.QPS = float32(qps)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	if opts.TemplateInstances && opts.TemplateInstanceKey.Name == "" {
		opts.TemplateInstanceKey = types.NamespacedName{Namespace: os.Getenv("POD_NAMESPACE"), Name: "kubia-templateinstance-key"}
	}
	if opts.BrokerRequestTimeout <= 0 {
		log.Error(nil, "--broker-request-timeout must be positive", "value", opts.BrokerRequestTimeout)
		os.Exit(2)
	}

	ctx := ctrl.SetupSignalHandler()
	mgr, err := newManagerWhenServed(ctx, opts, log)
	if err != nil {
		log.Error(err, "Building the manager failed")
		os.Exit(1)
	}
	log.Info("Starting", "leaderElection", opts.LeaderElection, "images", opts.Images)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// newManagerWhenServed builds the manager, waiting while kube-apiserver does not serve
// Kubia's kinds yet: installed together with kubia-apiserver, the controllers start
// before the aggregated Websites are available, and crash-looping would delay them by
// the kubelet's growing back-off.
func newManagerWhenServed(ctx context.Context, opts manager.Options, log logr.Logger) (ctrlmanager.Manager, error) {
	cfg := ctrl.GetConfigOrDie()
	for {
		mgr, err := manager.New(cfg, opts)
		if err == nil || !(meta.IsNoMatchError(err) || isGroupDiscoveryFailed(err)) {
			return mgr, err
		}
		log.Info("Waiting for Kubia's kinds to be served", "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(2 * time.Second):
		}
	}
}

// isGroupDiscoveryFailed tells whether err is an API group that could not be discovered,
// as when its aggregated API server is not available yet.
func isGroupDiscoveryFailed(err error) bool {
	var groups *discovery.ErrGroupDiscoveryFailed
	var resources *apiutil.ErrResourceDiscoveryFailed
	return errors.As(err, &groups) || errors.As(err, &resources)
}
