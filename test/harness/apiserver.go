package harness

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

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
	etcd, proc *child
}

// child is a process the harness started, reaped in the background.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
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
// Websites the CRD serves, taking the group over as switching modes does; it runs until
// the test binary ends. Main must not have been given WithAPIServer.
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
		t.Cleanup(func() {
			s.stop()
			apiServer = nil
			_ = os.RemoveAll(dataDir)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	ports, err := freeLocalPorts(3)
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
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
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
	client := "http://127.0.0.1:" + strconv.Itoa(s.etcdPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(s.etcdPeerPort)
	s.etcd, err = s.run("etcd", filepath.Join(binDir, "etcd"),
		"--name=kubia-apiserver", "--data-dir="+filepath.Join(s.dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=kubia-apiserver="+peer, "--log-level=warn")
	return err
}

// Start starts kubia-apiserver (again, after Kill) and waits until it is ready.
func (s *APIServer) Start() error {
	var err error
	s.proc, err = s.run("kubia-apiserver", s.binary,
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(s.etcdPort),
		"--bind-address="+s.address, "--secure-port="+strconv.Itoa(s.Port),
		"--tls-cert-file="+filepath.Join(s.dir, "tls.crt"), "--tls-private-key-file="+filepath.Join(s.dir, "tls.key"),
		"--kubeconfig="+s.kubeconfig, "--authentication-kubeconfig="+s.kubeconfig, "--authorization-kubeconfig="+s.kubeconfig,
		"--cert-dir="+s.dir)
	if err != nil {
		return err
	}
	return s.waitReady(2 * time.Minute)
}

// Kill ends kubia-apiserver with SIGKILL, as a crash would.
func (s *APIServer) Kill() error { return kill(s.proc) }

// KillEtcd ends kubia-apiserver's etcd with SIGKILL.
func (s *APIServer) KillEtcd() error { return kill(s.etcd) }

func kill(c *child) error {
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-c.exited
	return nil
}

// URLHost is the host:port kubia-apiserver serves at, bypassing the aggregator.
func (s *APIServer) URLHost() string { return net.JoinHostPort(s.address, strconv.Itoa(s.Port)) }

// LogPath is kubia-apiserver's log file.
func (s *APIServer) LogPath() string { return filepath.Join(s.dir, "kubia-apiserver.log") }

func (s *APIServer) stop() {
	for _, p := range []*child{s.proc, s.etcd} {
		if p == nil || !p.running() {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

func (s *APIServer) run(name, binary string, args ...string) (*child, error) {
	log, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// A test binary that dies must not leave these behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c, nil
}

// waitReady polls /readyz, which genericapiserver answers once etcd and the informers are.
func (s *APIServer) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// Readiness only: the certificate is checked by the aggregator, not here.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a local readiness probe
	}}
	url := "https://" + s.URLHost() + "/readyz"
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		if !s.proc.running() {
			return false, fmt.Errorf("kubia-apiserver exited: %s", s.proc.cmd.ProcessState)
		}
		resp, err := client.Get(url)
		if err != nil {
			last = err
			return false, nil
		}
		resp.Body.Close()
		last = fmt.Errorf("/readyz: %s", resp.Status)
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("kubia-apiserver not ready (%v): %w; see %s", last, err, s.LogPath())
	}
	return nil
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
	for _, version := range []string{"v1", "v1alpha1"} {
		apisvc := &apiregv1.APIService{
			ObjectMeta: metav1.ObjectMeta{Name: version + ".extensions.example.com"},
			Spec: apiregv1.APIServiceSpec{
				Group: "extensions.example.com", Version: version,
				GroupPriorityMinimum: 1000, VersionPriority: map[string]int32{"v1": 20, "v1alpha1": 15}[version],
				Service:  &apiregv1.ServiceReference{Namespace: apiServerNamespace, Name: apiServerService, Port: ptr.To(int32(s.Port))},
				CABundle: ca,
			},
		}
		if err := createOrTakeOver(ctx, agg, apisvc); err != nil {
			return err
		}
	}
	if err := waitAPIServicesAvailable(ctx, agg, "v1.extensions.example.com", "v1alpha1.extensions.example.com"); err != nil {
		return err
	}
	return waitOpenAPIV3(ctx, cs, "apis/extensions.example.com/v1", "apis/extensions.example.com/v1alpha1")
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

// automanagedLabel marks the APIServices kube-aggregator keeps in step with CRDs; one
// without it is left alone, even when a CRD serves the same group version.
const automanagedLabel = "kube-aggregator.kubernetes.io/automanaged"

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
	delete(existing.Labels, automanagedLabel)
	existing.Spec = apisvc.Spec
	if _, err := agg.ApiregistrationV1().APIServices().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("taking over APIService %s: %w", apisvc.Name, err)
	}
	return nil
}

func waitAPIServicesAvailable(ctx context.Context, agg aggregator.Interface, names ...string) error {
	for _, name := range names {
		var last string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			a, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil //nolint:nilerr // the aggregator may still be starting
			}
			for _, c := range a.Status.Conditions {
				if c.Type == apiregv1.Available {
					last = c.Reason + ": " + c.Message
					// "Local" is a CRD's registration, Available at once: not yet kubia-apiserver.
					return c.Status == apiregv1.ConditionTrue && c.Reason != "Local", nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("APIService %s not Available (%s): %w", name, last, err)
		}
	}
	return nil
}

func freeLocalPorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (s *APIServer) logTail(n int) string {
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n") + "\n"
}
