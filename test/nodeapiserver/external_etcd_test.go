package nodeapiserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/test/harness"
)

// sharedEtcd is the "existing etcd cluster" of TestChartExternalEtcd: one member in a
// namespace of its own, with TLS and client certificates required, as kube-apiserver's
// etcd usually is.
const (
	sharedEtcdNamespace = "shared-etcd"
	sharedEtcdHost      = "shared-etcd." + sharedEtcdNamespace + ".svc"
	// foreignKey stands for what another user of the etcd cluster (kube-apiserver) keeps.
	foreignKey = "/registry/pods/default/not-kubia"
)

// The chart pointed at an existing etcd cluster (apiserver.etcd.external) runs no etcd of
// its own and keeps Websites under its prefix /registry/kubia.dev in that cluster, next to
// what others keep there, which it leaves alone.
func TestChartExternalEtcd(t *testing.T) {
	harness.RequireNode(t)
	ca := newTestCA(t)
	runSharedEtcd(t, ca)
	etcd := etcdClientAt(t, sharedEtcdHost, podIP(t, sharedEtcdNamespace, "shared-etcd"), ca.issue(t, "test", nil), ca.certPEM)
	if _, err := etcd.Put(etcdContext(t), foreignKey, "kept"); err != nil {
		t.Fatalf("writing another user's key: %v", err)
	}

	apiserverCert := ca.issue(t, "kubia-apiserver", nil)
	createSecret(t, chartNamespace, "shared-etcd-client", map[string][]byte{"ca.crt": ca.certPEM, "tls.crt": apiserverCert.cert, "tls.key": apiserverCert.key})
	installChart(t, "--set", "apiserver.etcd.external.servers=https://"+sharedEtcdHost+":2379",
		"--set", "apiserver.etcd.external.clientSecret=shared-etcd-client")
	err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: "kubia-etcd"}, &appsv1.StatefulSet{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the chart's own etcd with an external one: %v", err)
	}
	ns := harness.Namespace(t)
	sites := createWebsites(t, ns, 3)
	assertWebsites(t, ns, sites)

	resp, err := etcd.Get(etcdContext(t), "/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	websites := 0
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		switch {
		case key == foreignKey:
		case !strings.HasPrefix(key, "/registry/kubia.dev/"):
			t.Errorf("kubia-apiserver wrote %s, outside its prefix /registry/kubia.dev/", key)
		case strings.Contains(key, "/websites/"+ns+"/"):
			websites++
		}
	}
	if websites != len(sites) {
		t.Errorf("%d of the %d Websites are in the shared etcd", websites, len(sites))
	}
	kept, err := etcd.Get(etcdContext(t), foreignKey)
	if err != nil || len(kept.Kvs) != 1 || string(kept.Kvs[0].Value) != "kept" {
		t.Errorf("another user's key after kubia-apiserver used the etcd: %v %v", kept, err)
	}
}

// etcdContext bounds one request to etcd: the client retries unreachable members
// without end.
func etcdContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runSharedEtcd runs the shared etcd as a bare pod (from the etcd image the chart uses)
// behind a Service, its data on an emptyDir.
func runSharedEtcd(t *testing.T, ca *testCA) {
	t.Helper()
	c := harness.Get(t).Client
	if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sharedEtcdNamespace}}); err != nil {
		t.Fatal(err)
	}
	serving := ca.issue(t, "shared-etcd", []string{sharedEtcdHost})
	createSecret(t, sharedEtcdNamespace, "shared-etcd-tls", map[string][]byte{"ca.crt": ca.certPEM, "tls.crt": serving.cert, "tls.key": serving.key})
	labels := map[string]string{"app": "shared-etcd"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-etcd", Namespace: sharedEtcdNamespace, Labels: labels},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{{
				Name: "etcd", Image: "localhost/kubia/etcd:local", ImagePullPolicy: corev1.PullNever,
				Args: []string{"--name=shared", "--data-dir=/var/lib/etcd/data",
					"--listen-client-urls=https://0.0.0.0:2379", "--advertise-client-urls=https://" + sharedEtcdHost + ":2379",
					"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
					"--initial-cluster=shared=http://127.0.0.1:2380", "--client-cert-auth",
					"--trusted-ca-file=/tls/ca.crt", "--cert-file=/tls/tls.crt", "--key-file=/tls/tls.key", "--log-level=warn"},
				Ports: []corev1.ContainerPort{{Name: "client", ContainerPort: 2379}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/etcd"},
					{Name: "tls", MountPath: "/tls", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "shared-etcd-tls"}}},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-etcd", Namespace: sharedEtcdNamespace},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "client", Port: 2379, TargetPort: intstr.FromString("client")}}},
	}
	for _, obj := range []client.Object{pod, svc} {
		if err := c.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	harness.WaitFor(t, pod, timeout, "the shared etcd runs", func() error {
		if pod.Status.PodIP == "" || len(pod.Status.ContainerStatuses) == 0 || pod.Status.ContainerStatuses[0].State.Running == nil {
			return fmt.Errorf("phase %s", pod.Status.Phase)
		}
		return nil
	})
}

func podIP(t *testing.T, namespace, name string) string {
	t.Helper()
	p := &corev1.Pod{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	return p.Status.PodIP
}

func createSecret(t *testing.T, namespace, name string, data map[string][]byte) {
	t.Helper()
	c := harness.Get(t).Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := c.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := c.Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// testCA issues the shared etcd's certificates: its serving one, and client ones.
type testCA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

type pemPair struct{ cert, key []byte }

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shared-etcd-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate for both server and client use: a serving one when dnsNames
// are given.
func (ca *testCA) issue(t testing.TB, commonName string, dnsNames []string) pemPair {
	t.Helper()
	key := newKey(t)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: commonName}, DNSNames: dnsNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemPair{cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
