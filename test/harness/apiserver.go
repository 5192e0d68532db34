package harness

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregv1helper "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/kubia-dev/kubia/internal/apiserver/registration"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
)

// The names the book's APIService and the chart use.
const (
	apiServerNamespace = "kubia-system"
	apiServerService   = "website-api"
)

// APIServer is a kubia-apiserver run on this machine (there may be no node for pods),
// with an etcd of its own, joined to the cluster through APIServices that point at an
// ExternalName Service for localhost: kube-aggregator dials it, and verifies its serving
// certificate for website-api.kubia-system.svc against the APIService's caBundle.
type APIServer struct {
	dir          string
	binary       string
	kubeconfig   string
	etcdPort     int
	etcdPeerPort int
	// address and Port are where kubia-apiserver listens.
	address string
	Port    int
	// CAFile verifies its serving certificate.
	CAFile     string
	etcd, proc *localcluster.Process
	// release undoes StartAPIServer; nil for Main's server.
	release func() error
}

// WithAPIServer serves extensions.example.com from kubia-apiserver instead of the CRD
// (aggregated mode) only. Other CRDs are installed when WithCRDs is also given.
func WithAPIServer() Option {
	return func(o *options) { o.apiserver = true }
}

// AggregatedAPIServer returns the running kubia-apiserver; it fails the test when Main
// was not given WithAPIServer.
func AggregatedAPIServer(t testing.TB) *APIServer {
	t.Helper()
	if apiServer == nil {
		t.Fatal("harness: no kubia-apiserver; pass harness.WithAPIServer() to Main")
	}
	return apiServer
}

var apiServer *APIServer

// StartAPIServer starts kubia-apiserver in the middle of a test on a cluster whose
// Websites the CRD serves, taking the group over as switching modes does. Stop, or else
// the end of the test, gives the group back to the CRD and stops kubia-apiserver, so later
// tests of the binary find the cluster as Main made it. Main must not have been given
// WithAPIServer.
func StartAPIServer(t testing.TB) *APIServer {
	t.Helper()
	if apiServer != nil {
		t.Fatal("harness: kubia-apiserver already runs")
	}
	e := Get(t)
	nodeIP := ""
	if noNodeReason == "" && e.Cluster.HasNode() {
		nodeIP = localcluster.DefaultNodeIP
	}
	dataDir, err := os.MkdirTemp("", "kubia-apiserver-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := startAPIServer(t.Context(), e.Cluster, dataDir, nodeIP)
	if s != nil {
		apiServer = s
		s.release = func() error {
			defer func() {
				s.stop()
				apiServer = nil
				_ = os.RemoveAll(dataDir)
			}()
			return unregister(e.Cluster)
		}
		t.Cleanup(func() {
			if apiServer != s { // stopped already
				return
			}
			if err := s.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stop gives the group back to the CRD, then stops kubia-apiserver and its etcd and
// removes their data. It is for a server StartAPIServer started; Main's runs until the
// test binary ends.
func (s *APIServer) Stop() error {
	if s.release == nil || apiServer != s {
		return errors.New("harness: Stop is for the running kubia-apiserver of StartAPIServer")
	}
	return s.release()
}

// unregister undoes register: it deletes the group's APIServices, which kube-aggregator
// then registers again for the versions the Website CRD serves, as for any CRD, waits until
// v1 is served locally once more, and deletes the Service the APIServices named.
func unregister(cluster *localcluster.Cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agg, err := aggregator.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err
	}
	for _, name := range registration.Names() {
		err := agg.ApiregistrationV1().APIServices().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("giving APIService %s back to the CRD: %w", name, err)
		}
	}
	name := "v1." + registration.WebsiteGroup
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svc, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // not registered again yet
		}
		return registration.IsCRDs(svc) && svc.Spec.Service == nil && apiregv1helper.IsAPIServiceConditionTrue(svc, apiregv1.Available), nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s not served by the CRD again: %w", name, err)
	}
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err
	}
	// createService's EndpointSlice (with a node) has no owner reference: the Service's
	// deletion would leave it behind.
	err = cs.DiscoveryV1().EndpointSlices(apiServerNamespace).Delete(ctx, apiServerService, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting EndpointSlice %s: %w", apiServerService, err)
	}
	err = cs.CoreV1().Services(apiServerNamespace).Delete(ctx, apiServerService, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Service %s: %w", apiServerService, err)
	}
	return nil
}

// startAPIServer runs kubia-apiserver on this machine: on loopback behind an ExternalName
// Service without a node; with one, on the node's address behind a Service whose
// EndpointSlice names it (kube-apiserver then routes to endpoints, which ExternalName
// Services have none of).
func startAPIServer(ctx context.Context, cluster *localcluster.Cluster, dataDir, nodeIP string) (*APIServer, error) {
	s := &APIServer{dir: filepath.Join(dataDir, "kubia-apiserver"), kubeconfig: cluster.KubeconfigPath(), address: "127.0.0.1"}
	if nodeIP != "" {
		s.address = nodeIP
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	if err := s.build(); err != nil {
		return nil, err
	}
	if err := s.writeCertificates(); err != nil {
		return nil, err
	}
	ports, err := localcluster.FreePorts(3)
	if err != nil {
		return nil, err
	}
	s.etcdPort, s.Port = ports[0], ports[1]
	s.etcdPeerPort = ports[2]
	if err := s.StartEtcd(); err != nil {
		return s, err
	}
	if err := s.Start(); err != nil {
		return s, fmt.Errorf("%w; its log ends:\n%s", err, s.logTail(30))
	}
	if err := s.register(ctx, cluster); err != nil {
		return s, fmt.Errorf("%w; kubia-apiserver's log ends:\n%s", err, s.logTail(30))
	}
	return s, nil
}

// build compiles kubia-apiserver from this source tree (the Go build cache makes it quick).
func (s *APIServer) build() error {
	root, err := sourcetree.Root()
	if err != nil {
		return err
	}
	s.binary = filepath.Join(s.dir, "kubia-apiserver")
	cmd := exec.Command("go", "build", "-o", s.binary, "./cmd/kubia-apiserver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building kubia-apiserver: %w\n%s", err, out)
	}
	return nil
}

func (s *APIServer) writeCertificates() error {
	host := apiServerService + "." + apiServerNamespace + ".svc"
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, []net.IP{net.ParseIP(s.address)}, []string{"localhost"})
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	// GenerateSelfSignedCertKey returns the serving certificate, then the CA that signed it.
	leaf, rest := pem.Decode(certPEM)
	if leaf == nil || len(rest) == 0 {
		return fmt.Errorf("serving certificate: no CA in the generated chain")
	}
	s.CAFile = filepath.Join(s.dir, "ca.crt")
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": rest} {
		if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// StartEtcd starts kubia-apiserver's etcd (again, after KillEtcd) on the same data.
func (s *APIServer) StartEtcd() error {
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return err
	}
	client := s.EtcdURL()
	peer := "http://127.0.0.1:" + strconv.Itoa(s.etcdPeerPort)
	s.etcd, err = localcluster.StartProcess("etcd", filepath.Join(binDir, "etcd"), []string{
		"--name=kubia-apiserver", "--data-dir=" + filepath.Join(s.dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=kubia-apiserver=" + peer, "--log-level=warn"}, s.dir)
	return err
}

// Start starts kubia-apiserver (again, after Kill) and waits until it is ready.
func (s *APIServer) Start() error {
	var err error
	s.proc, err = localcluster.StartProcess("kubia-apiserver", s.binary, []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(s.etcdPort),
		"--bind-address=" + s.address, "--secure-port=" + strconv.Itoa(s.Port),
		"--tls-cert-file=" + filepath.Join(s.dir, "tls.crt"), "--tls-private-key-file=" + filepath.Join(s.dir, "tls.key"),
		"--kubeconfig=" + s.kubeconfig, "--authentication-kubeconfig=" + s.kubeconfig, "--authorization-kubeconfig=" + s.kubeconfig,
		"--cert-dir=" + s.dir}, s.dir)
	if err != nil {
		return err
	}
	// /readyz answers 200 once etcd and the informers are.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.proc.WaitServes(ctx, s.CAFile, "https://"+s.URLHost()+"/readyz")
}

// Kill ends kubia-apiserver with SIGKILL, as a crash would.
func (s *APIServer) Kill() error { return s.proc.Kill() }

// KillEtcd ends kubia-apiserver's etcd with SIGKILL.
func (s *APIServer) KillEtcd() error { return s.etcd.Kill() }

// URLHost is the host:port kubia-apiserver serves at, bypassing the aggregator.
func (s *APIServer) URLHost() string { return net.JoinHostPort(s.address, strconv.Itoa(s.Port)) }

// PID is kubia-apiserver's process ID.
func (s *APIServer) PID() int { return s.proc.PID() }

// EtcdPID is the process ID of kubia-apiserver's etcd.
func (s *APIServer) EtcdPID() int { return s.etcd.PID() }

// EtcdURL is where kubia-apiserver's etcd answers clients (plain HTTP on loopback), its
// /metrics included.
func (s *APIServer) EtcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.etcdPort) }

// DirectConfig reaches kubia-apiserver without kube-apiserver, as the aggregator does:
// with the front-proxy client certificate and the user (an admin) in X-Remote-* headers.
// Its paths are kubia-apiserver's own, /metrics included.
func (s *APIServer) DirectConfig() *rest.Config {
	pki := filepath.Join(filepath.Dir(s.kubeconfig), "pki")
	cfg := &rest.Config{
		Host: "https://" + s.URLHost(),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:     s.CAFile,
			ServerName: apiServerService + "." + apiServerNamespace + ".svc",
			CertFile:   filepath.Join(pki, "front-proxy-client.crt"),
			KeyFile:    filepath.Join(pki, "front-proxy-client.key"),
		},
		QPS: -1,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return remoteAdmin{rt} })
	return cfg
}

// remoteAdmin names an admin in the headers the aggregator would set.
type remoteAdmin struct{ next http.RoundTripper }

func (a remoteAdmin) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Remote-User", "kubernetes-admin")
	req.Header.Set("X-Remote-Group", "system:masters")
	return a.next.RoundTrip(req)
}

func (s *APIServer) stop() {
	for _, p := range []*localcluster.Process{s.proc, s.etcd} {
		if p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
}

// register points the group's APIServices at this server and waits until the
// aggregator reports them Available.
func (s *APIServer) register(ctx context.Context, cluster *localcluster.Cluster) error {
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: apiServerNamespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := s.createService(ctx, cs); err != nil {
		return err
	}
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		return err
	}
	agg, err := aggregator.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return err
	}
	for _, a := range registration.APIServices {
		apisvc := &apiregv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: a.Name()},
			Spec:       registration.Spec(a, apiServerNamespace, apiServerService, int32(s.Port), ca),
		}
		if err := createOrTakeOver(ctx, agg, apisvc); err != nil {
			return err
		}
	}
	if err := registration.WaitAvailable(ctx, agg, 2*time.Minute, registration.Names()...); err != nil {
		return err
	}
	return waitOpenAPIV3(ctx, cs, "apis/extensions.example.com/v1", "apis/extensions.example.com/v1alpha1", "apis/template.openshift.io/v1",
		"apis/route.openshift.io/v1")
}

// waitOpenAPIV3 waits until kube-apiserver's OpenAPI v3 discovery lists the group
// versions: the aggregator downloads an APIService's spec some seconds after it becomes
// Available, and kubectl explain and server-side apply's clients need it.
func waitOpenAPIV3(ctx context.Context, cs kubernetes.Interface, paths ...string) error {
	var missing string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/openapi/v3").DoRaw(ctx)
		if err != nil {
			return false, nil //nolint:nilerr // not served yet
		}
		var discovery struct {
			Paths map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(body, &discovery); err != nil {
			return false, err
		}
		for _, p := range paths {
			if _, ok := discovery.Paths[p]; !ok {
				missing = p
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("OpenAPI v3 does not list %s: %w", missing, err)
	}
	return nil
}

func (s *APIServer) createService(ctx context.Context, cs kubernetes.Interface) error {
	port := int32(s.Port)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: apiServerService, Namespace: apiServerNamespace},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: port}},
		},
	}
	if s.address != "127.0.0.1" {
		svc.Spec = corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: port}}}
	}
	if _, err := cs.CoreV1().Services(apiServerNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Service %s: %w", apiServerService, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: apiServerService, Namespace: apiServerNamespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: apiServerService, discoveryv1.LabelManagedBy: "kubia-test-harness"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{s.address}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: &port}},
	}
	if _, err := cs.DiscoveryV1().EndpointSlices(apiServerNamespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating EndpointSlice %s: %w", apiServerService, err)
	}
	return nil
}

// createOrTakeOver creates the APIService, or takes over the one a Website CRD has (as
// switching a cluster from the CRD does): with kube-aggregator's label removed, the CRD's
// registration no longer rewrites it.
func createOrTakeOver(ctx context.Context, agg aggregator.Interface, apisvc *apiregv1.APIService) error {
	_, err := agg.ApiregistrationV1().APIServices().Create(ctx, apisvc, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating APIService %s: %w", apisvc.Name, err)
		}
		return nil
	}
	existing, err := agg.ApiregistrationV1().APIServices().Get(ctx, apisvc.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	delete(existing.Labels, registration.AutomanagedLabel)
	existing.Spec = apisvc.Spec
	if _, err := agg.ApiregistrationV1().APIServices().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("taking over APIService %s: %w", apisvc.Name, err)
	}
	return nil
}

func (s *APIServer) logTail(n int) string {
	if s.proc == nil {
		return "(not started)\n"
	}
	return s.proc.LogTail(n)
}
