// Package router is kubia-router: HAProxy serving route.openshift.io Routes, configured
// by the controller in internal/router/controller, as OpenShift's router is. Run wires
// them together; cmd/kubia-router only parses flags.
package router

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/kubia-dev/kubia/internal/router/controller"
	"github.com/kubia-dev/kubia/internal/router/haproxy"
)

// Options are kubia-router's settings.
type Options struct {
	Controller controller.Options
	HAProxy    haproxy.Settings
	// Binary is the haproxy program.
	Binary string
	// Domain is the router's wildcard domain, named by the generated default certificate
	// and completing routes' spec.subdomain.
	Domain string
	// LeaderElection, when set, lets only the leader among the replicas of this router
	// write status (all of them serve), through a Lease in LeaderElectionNamespace.
	LeaderElection          bool
	LeaderElectionNamespace string
}

// Run serves until ctx ends, then stops HAProxy (its workers finish their connections).
func Run(ctx context.Context, cfg *rest.Config, o Options, log logr.Logger) error {
	if err := os.MkdirAll(o.HAProxy.Dir, 0o700); err != nil {
		return err
	}
	if o.HAProxy.DefaultCertificate == "" {
		path, err := writeDefaultCertificate(o.HAProxy.Dir, o.Domain)
		if err != nil {
			return fmt.Errorf("default certificate: %w", err)
		}
		o.HAProxy.DefaultCertificate = path
	}
	m := &haproxy.Manager{Settings: o.HAProxy, Binary: o.Binary, Log: log.WithName("haproxy")}
	defer func() {
		if err := m.Stop(); err != nil {
			log.Error(err, "stopping haproxy")
		}
	}()
	o.Controller.Domain = o.Domain
	c, err := controller.New(cfg, m, o.Controller, log.WithName("controller"))
	if err != nil {
		return err
	}
	if o.LeaderElection {
		c.WriteStatus(false)
		go electStatusWriter(ctx, cfg, o, c, log)
	}
	return c.Run(ctx)
}

// electStatusWriter keeps this replica writing status while it holds the router's Lease.
func electStatusWriter(ctx context.Context, cfg *rest.Config, o Options, c *controller.Controller, log logr.Logger) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Error(err, "leader election")
		return
	}
	id, _ := os.Hostname()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.LeaderElectionNamespace, Name: "kubia-router-" + o.Controller.Name},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	for ctx.Err() == nil {
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) { log.Info("writing routes' status"); c.WriteStatus(true) },
				OnStoppedLeading: func() { log.Info("no longer writing routes' status"); c.WriteStatus(false) },
			},
		})
	}
}

// writeDefaultCertificate writes a self-signed certificate for *.<domain>, served to TLS
// clients whose route has no certificate of its own (as OpenShift's router serves its
// default wildcard certificate).
func writeDefaultCertificate(dir, domain string) (string, error) {
	if domain == "" {
		return "", errors.New("no --domain to name in it")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "*." + domain},
		DNSNames: []string{"*." + domain, domain}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	path := filepath.Join(dir, "default.pem")
	return path, os.WriteFile(path, data, 0o600)
}
