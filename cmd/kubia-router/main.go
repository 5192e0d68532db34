// kubia-router serves route.openshift.io Routes with HAProxy, as OpenShift's router does.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/kubia-dev/kubia/internal/router"
)

func main() {
	var o router.Options
	var kubeconfig string
	klog.InitFlags(nil)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (empty: in-cluster)")
	flag.StringVar(&o.Controller.Name, "name", "default", "the router's name in routes' status.ingress[].routerName")
	flag.StringVar(&o.Controller.CanonicalHostname, "canonical-hostname", "", "status.ingress[].routerCanonicalHostname: the name the router's domain should resolve to")
	flag.BoolVar(&o.Controller.Admission.AllowWildcards, "allow-wildcard-routes", false, "admit routes of wildcardPolicy Subdomain")
	flag.StringVar(&o.Domain, "domain", "apps.kubia.local", "the router's wildcard domain: routes' spec.subdomain is served under it, and the generated default certificate names it")
	flag.StringVar(&o.Binary, "haproxy", "haproxy", "the haproxy program")
	flag.StringVar(&o.HAProxy.Dir, "dir", "/var/lib/kubia-router", "where the configuration, maps and certificates are written")
	flag.StringVar(&o.HAProxy.RunDir, "run-dir", "/var/run/kubia-router", "where HAProxy's sockets are (a short path)")
	flag.StringVar(&o.HAProxy.HTTPBind, "http-bind", ":80", "HTTP listening address")
	flag.StringVar(&o.HAProxy.HTTPSBind, "https-bind", ":443", "HTTPS listening address")
	flag.StringVar(&o.HAProxy.StatsBind, "stats-bind", ":1936", "listening address of /healthz and /metrics (HAProxy's Prometheus exporter)")
	flag.StringVar(&o.HAProxy.DefaultCertificate, "default-certificate", "", "PEM file (certificate and key) for TLS routes without one (empty: a generated self-signed *.<domain>)")
	flag.StringVar(&o.HAProxy.DefaultDestinationCA, "default-destination-ca", "/etc/ssl/certs/ca-certificates.crt", "CAs reencrypt routes without destinationCACertificate verify their backends with")
	flag.IntVar(&o.HAProxy.Threads, "threads", 2, "HAProxy's threads")
	flag.IntVar(&o.HAProxy.MaxConn, "max-connections", 0, "HAProxy's global maxconn (0: derived from the open files limit, half of it)")
	flag.StringVar(&o.HAProxy.HardStopAfter, "hard-stop-after", "1h", "how long an old worker may serve its connections after a reload")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false, "only the leader among replicas writes status")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the leader election Lease")
	flag.Parse()

	log := klog.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		log.Error(err, "kubeconfig")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(klog.NewContext(context.Background(), log), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := router.Run(ctx, cfg, o, log); err != nil {
		log.Error(err, "kubia-router")
		os.Exit(1)
	}
}
