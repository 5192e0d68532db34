package nodeapiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/apiserver/registration"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

// The chart in aggregated mode with apiserver.etcd.replicas=3, through one install: the
// steps run in order and each leaves the release as it found it.
func TestChartAggregatedMode(t *testing.T) {
	harness.RequireNode(t)
	installChart(t, "--set", "apiserver.etcd.replicas=3")
	ns := harness.Namespace(t)
	sites := createWebsites(t, ns, 10)
	// kubia-controller-manager reaches Websites through kube-apiserver and the aggregator.
	harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "site-0-website", Namespace: ns}}, timeout,
		"the chart's controller made the Website's Deployment", func() error { return nil })

	t.Run("etcd has three members", func(t *testing.T) {
		members := etcdMembers(t)
		if len(members) != 3 {
			t.Fatalf("etcd members %v, want 3", members)
		}
	})
	t.Run("templates for edit and view", func(t *testing.T) { templatesThroughRoles(t, ns) })
	t.Run("starter templates and new-app", func(t *testing.T) { newAppPostgreSQL(t) })
	t.Run("one etcd member gone", func(t *testing.T) { oneEtcdMemberGone(t, ns, sites) })
	t.Run("etcd member killed", func(t *testing.T) {
		restarts := restartCount(t, "kubia-etcd-0")
		harness.KillContainer(t, chartNamespace, "kubia-etcd-0", "etcd")
		waitRestarted(t, "kubia-etcd-0", restarts)
		waitEtcdReady(t, 3)
		assertWebsites(t, ns, sites)
	})
	t.Run("kubia-apiserver's pods killed", func(t *testing.T) { apiServerPodsKilled(t, ns, sites) })
	t.Run("etcd down", func(t *testing.T) { etcdDown(t, ns, sites) })
	t.Run("serving certificate rotated", func(t *testing.T) { certificateRotated(t, ns, sites) })
}

// installChart installs the chart in aggregated mode with extra helm arguments, as the
// README says: the Service Catalog's CRDs applied by hand, the chart's crds/ (which hold
// the Website CRD) skipped. The release is uninstalled when the test ends, for the next.
func installChart(t testing.TB, extra ...string) {
	t.Helper()
	chart := mustChart(t)
	crds, err := filepath.Glob(filepath.Join(chart, "crds", "servicecatalog.k8s.io_*.yaml"))
	if err != nil || len(crds) != 5 {
		t.Fatalf("the Service Catalog's CRDs in the chart: %v %v", crds, err)
	}
	for _, crd := range crds {
		harness.ApplyFile(t, "", crd)
	}
	args := append([]string{"install", "kubia", chart, "--namespace", chartNamespace, "--create-namespace", "--skip-crds",
		"--set", "apiserver.enabled=true", "--set", "replicas=1", "--wait", "--timeout", "5m"}, extra...)
	t.Cleanup(func() {
		// t.Context() has ended by now.
		if _, err := harness.Helm(context.Background(), t, "uninstall", "kubia", "--namespace", chartNamespace, "--wait"); err != nil {
			t.Error(err)
		}
		deleteEtcdVolumes(t)
	})
	helm(t, args...)
	if err := registration.WaitAvailable(t.Context(), aggregatorClient(t), timeout, registration.Names()...); err != nil {
		t.Fatal(err)
	}
}

// deleteEtcdVolumes deletes the claims the etcd StatefulSet leaves behind (a StatefulSet
// keeps them): the next install would start its members on this one's data, a cluster of
// another size and other certificates.
func deleteEtcdVolumes(t testing.TB) {
	t.Helper()
	cs := harness.Get(t).Clientset
	ctx := context.Background()
	claims, err := cs.CoreV1().PersistentVolumeClaims(chartNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Error(err)
		return
	}
	for _, c := range claims.Items {
		if strings.HasPrefix(c.Name, "data-kubia-etcd-") {
			if err := cs.CoreV1().PersistentVolumeClaims(chartNamespace).Delete(ctx, c.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
		}
	}
	// Polled here, not with harness.Eventually: cleanups run after t.Context() ended.
	deadline := time.Now().Add(timeout)
	for {
		claims, err := cs.CoreV1().PersistentVolumeClaims(chartNamespace).List(ctx, metav1.ListOptions{})
		left := 0
		for _, c := range claims.Items {
			if strings.HasPrefix(c.Name, "data-kubia-etcd-") {
				left++
			}
		}
		if err == nil && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("etcd volumes still there after %s: %d (%v)", timeout, left, err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func helm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := harness.Helm(t.Context(), t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func aggregatorClient(t testing.TB) aggregator.Interface {
	t.Helper()
	agg, err := aggregator.NewForConfig(harness.Get(t).Config)
	if err != nil {
		t.Fatal(err)
	}
	return agg
}

// createWebsites creates n Websites without replicas (what is tested is their storage)
// and returns their UIDs by name.
func createWebsites(t *testing.T, ns string, n int) map[string]types.UID {
	t.Helper()
	sites := map[string]types.UID{}
	for i := range n {
		site := newWebsite(ns, fmt.Sprintf("site-%d", i))
		if err := harness.Get(t).Client.Create(t.Context(), site); err != nil {
			t.Fatal(err)
		}
		sites[site.Name] = site.UID
	}
	return sites
}

func newWebsite(ns, name string) *extensionsv1.Website {
	return &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: "https://" + localcluster.DefaultNodeIP + "/none.git", Replicas: ptr.To[int32](0)},
	}
}

// assertWebsites waits until the Websites can be listed again and checks that they are
// exactly want: none lost, none replaced (same UIDs).
func assertWebsites(t *testing.T, ns string, want map[string]types.UID) {
	t.Helper()
	var got map[string]types.UID
	harness.Eventually(t, timeout, "the Websites can be listed", func(ctx context.Context) error {
		var list extensionsv1.WebsiteList
		if err := harness.Get(t).Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		got = map[string]types.UID{}
		for _, s := range list.Items {
			got[s.Name] = s.UID
		}
		return nil
	})
	for name, uid := range want {
		if got[name] != uid {
			t.Errorf("Website %s: UID %q, want %q", name, got[name], uid)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d Websites, want %d: %v", len(got), len(want), got)
	}
}

// waitAPIServersReady waits until the kubia-apiserver Deployment has exactly n ready replicas.
func waitAPIServersReady(t *testing.T, n int32) {
	t.Helper()
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-apiserver", Namespace: chartNamespace}}
	harness.WaitFor(t, deploy, timeout, fmt.Sprintf("kubia-apiserver has %d ready replicas", n), func() error {
		return readyReplicas(deploy.Status.ReadyReplicas, n)
	})
}

// waitEtcdReady waits until the etcd StatefulSet has exactly n ready members.
func waitEtcdReady(t *testing.T, n int32) {
	t.Helper()
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "kubia-etcd", Namespace: chartNamespace}}
	harness.WaitFor(t, sts, timeout, fmt.Sprintf("etcd has %d ready members", n), func() error {
		return readyReplicas(sts.Status.ReadyReplicas, n)
	})
}

func readyReplicas(ready, want int32) error {
	if ready != want {
		return fmt.Errorf("%d ready", ready)
	}
	return nil
}

// scaleEtcd sets the etcd StatefulSet's replicas and waits until exactly that many
// members run and are ready.
func scaleEtcd(t *testing.T, replicas int32) {
	t.Helper()
	c := harness.Get(t).Client
	sts := &appsv1.StatefulSet{}
	key := client.ObjectKey{Namespace: chartNamespace, Name: "kubia-etcd"}
	if err := c.Get(t.Context(), key, sts); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(sts.DeepCopy())
	sts.Spec.Replicas = ptr.To(replicas)
	if err := c.Patch(t.Context(), sts, patch); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, fmt.Sprintf("etcd runs %d members", replicas), func(ctx context.Context) error {
		pods := etcdPods(ctx, t)
		if int32(len(pods)) != replicas {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	waitEtcdReady(t, replicas)
}

func etcdPods(ctx context.Context, t *testing.T) []corev1.Pod {
	var pods corev1.PodList
	if err := harness.Get(t).Client.List(ctx, &pods, client.InNamespace(chartNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "kubia-etcd"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// oneEtcdMemberGone stops the third member: two of three are a quorum, so Websites are
// still written; back, the member catches up from the others.
func oneEtcdMemberGone(t *testing.T, ns string, sites map[string]types.UID) {
	scaleEtcd(t, 2)
	site := newWebsite(ns, "written-with-two-members")
	if err := harness.Get(t).Client.Create(t.Context(), site); err != nil {
		t.Fatalf("creating a Website with one etcd member of three gone: %v", err)
	}
	sites[site.Name] = site.UID
	assertWebsites(t, ns, sites)
	scaleEtcd(t, 3)
	// A serializable read is answered from the member's own data.
	etcd := etcdClient(t, "kubia-etcd-2")
	harness.Eventually(t, timeout, "the returning member has the Website written without it", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := etcd.Get(ctx, "/registry/kubia.dev/", clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithSerializable())
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			if strings.HasSuffix(string(kv.Key), "/"+ns+"/"+site.Name) {
				return nil
			}
		}
		return fmt.Errorf("%d keys under /registry/kubia.dev/, not the Website's", len(resp.Kvs))
	})
}

// apiServerPodsKilled SIGKILLs one kubia-apiserver pod's server and deletes the other
// pod at once: clients get their Websites back from the new processes, all of them.
func apiServerPodsKilled(t *testing.T, ns string, sites map[string]types.UID) {
	var pods corev1.PodList
	if err := harness.Get(t).Client.List(t.Context(), &pods, client.InNamespace(chartNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "kubia-apiserver"}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("%d kubia-apiserver pods, want the chart's 2", len(pods.Items))
	}
	killed, deleted := pods.Items[0], pods.Items[1]
	restarts := restartCount(t, killed.Name)
	harness.KillContainer(t, chartNamespace, killed.Name, "kubia-apiserver")
	if err := harness.Get(t).Client.Delete(t.Context(), &deleted, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	waitRestarted(t, killed.Name, restarts)
	harness.Eventually(t, timeout, "the deleted pod "+deleted.Name+" is gone", func(ctx context.Context) error {
		err := harness.Get(t).Client.Get(ctx, client.ObjectKeyFromObject(&deleted), &corev1.Pod{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
	waitAPIServersReady(t, 2)
	assertWebsites(t, ns, sites)
	// A client retries what the aggregator refuses while it still counts the APIService
	// unavailable (it checks the endpoints again on its own schedule).
	site := newWebsite(ns, "written-after-the-kill")
	harness.Eventually(t, timeout, "a Website can be created again", func(ctx context.Context) error {
		err := harness.Get(t).Client.Create(ctx, site)
		if apierrors.IsAlreadyExists(err) {
			return harness.Get(t).Client.Get(ctx, client.ObjectKeyFromObject(site), site)
		}
		return err
	})
	sites[site.Name] = site.UID
}

func restartCount(t *testing.T, pod string) int32 {
	t.Helper()
	p := &corev1.Pod{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: pod}, p); err != nil {
		t.Fatal(err)
	}
	if len(p.Status.ContainerStatuses) != 1 {
		t.Fatalf("pod %s has %d container statuses", pod, len(p.Status.ContainerStatuses))
	}
	return p.Status.ContainerStatuses[0].RestartCount
}

// waitRestarted waits until the kubelet has restarted the pod's container since it had
// restarted it before times and the container is ready again.
func waitRestarted(t *testing.T, pod string, before int32) {
	t.Helper()
	harness.Eventually(t, timeout, pod+"'s killed container is restarted and ready", func(ctx context.Context) error {
		p := &corev1.Pod{}
		if err := harness.Get(t).Client.Get(ctx, client.ObjectKey{Namespace: chartNamespace, Name: pod}, p); err != nil {
			return err
		}
		status := p.Status.ContainerStatuses[0]
		if status.RestartCount <= before || !status.Ready {
			return fmt.Errorf("%d restarts, ready %v", status.RestartCount, status.Ready)
		}
		return nil
	})
}

// etcdDown stops every etcd member: kubia-apiserver's pods leave the Service (their
// readiness follows etcd) and requests fail with a server error or time out, never with
// an answer that claims the Websites are gone; with etcd back, all are there.
func etcdDown(t *testing.T, ns string, sites map[string]types.UID) {
	scaleEtcd(t, 0)
	waitAPIServersReady(t, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var list extensionsv1.WebsiteList
	err := harness.Get(t).Client.List(ctx, &list, client.InNamespace(ns))
	switch {
	case err == nil:
		t.Fatalf("listing Websites with etcd down answered %d Websites", len(list.Items))
	case apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsTimeout(err),
		apierrors.IsServerTimeout(err), errors.Is(err, context.DeadlineExceeded):
		t.Logf("with etcd down: %v", err)
	default:
		t.Fatalf("listing Websites with etcd down: %v, want a 5xx or a timeout", err)
	}
	scaleEtcd(t, 3)
	waitAPIServersReady(t, 2)
	assertWebsites(t, ns, sites)
}

// certificateRotated asks the chart for a new serving certificate while a client reads
// Websites through the aggregator without pause: no request fails, and both pods end up
// serving the new certificate, reloaded from the files the kubelet updates.
func certificateRotated(t *testing.T, ns string, sites map[string]types.UID) {
	oldCA := servingSecret(t).Data["ca.crt"]
	var requests, failures atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := harness.Get(t).Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "site-0"}, &extensionsv1.Website{})
			cancel()
			requests.Add(1)
			if err != nil {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, err.Error())
			}
		}
	})
	stopReads := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopReads()

	helm(t, "upgrade", "kubia", mustChart(t), "--namespace", chartNamespace, "--skip-crds", "--reuse-values",
		"--set", "apiserver.certificateRotation=1", "--wait", "--timeout", "5m")
	secret := servingSecret(t)
	newCA := secret.Data["ca.crt"]
	if string(newCA) == string(oldCA) {
		t.Fatal("the serving Secret has the same CA after the rotation")
	}
	assertCABundles(t, oldCA, newCA)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(newCA) {
		t.Fatal("the new ca.crt holds no certificate")
	}
	harness.Eventually(t, 5*time.Minute, "both kubia-apiserver pods serve the new certificate", func(ctx context.Context) error {
		return servesCertificateOf(ctx, t, pool)
	})
	stopReads()
	t.Logf("%d reads during the rotation, %d failed", requests.Load(), failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d of %d reads failed during the rotation; the first: %v", failures.Load(), requests.Load(), firstFailure.Load())
	}
	if requests.Load() < 10 {
		t.Errorf("only %d reads during the rotation", requests.Load())
	}
	assertWebsites(t, ns, sites)
}

func mustChart(t testing.TB) string {
	chart, err := sourcetree.Path("charts/kubia")
	if err != nil {
		t.Fatal(err)
	}
	return chart
}

func servingSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: "website-api-tls"}, secret); err != nil {
		t.Fatal(err)
	}
	return secret
}

// assertCABundles checks that both APIServices trust the new CA and, until the pods have
// reloaded, the old one.
func assertCABundles(t *testing.T, oldCA, newCA []byte) {
	t.Helper()
	for _, name := range registration.Names() {
		svc, err := aggregatorClient(t).ApiregistrationV1().APIServices().Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bundle := string(svc.Spec.CABundle)
		if !strings.Contains(bundle, strings.TrimSpace(string(newCA))) || !strings.Contains(bundle, strings.TrimSpace(string(oldCA))) {
			t.Errorf("APIService %s's caBundle does not hold both the new and the previous CA", name)
		}
	}
}

// servesCertificateOf checks that every kubia-apiserver pod presents a certificate
// signed by a CA of pool for the Service's name.
func servesCertificateOf(ctx context.Context, t *testing.T, pool *x509.CertPool) error {
	var pods corev1.PodList
	if err := harness.Get(t).Client.List(ctx, &pods, client.InNamespace(chartNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "kubia-apiserver"}); err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return errors.New("no kubia-apiserver pod")
	}
	for _, pod := range pods.Items {
		dialer := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
		conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(pod.Status.PodIP, "8443"))
		if err != nil {
			return fmt.Errorf("pod %s: %w", pod.Name, err)
		}
		certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
		_ = conn.Close()
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: "website-api." + chartNamespace + ".svc"}); err != nil {
			return fmt.Errorf("pod %s serves a certificate the new CA did not sign: %w", pod.Name, err)
		}
	}
	return nil
}

// etcdMembers lists the etcd cluster's members, asked of its first member.
func etcdMembers(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	resp, err := etcdClient(t, "kubia-etcd-0").MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range resp.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// etcdClient connects to one member of the chart's etcd by its pod's address, with the
// client certificate the chart gave kubia-apiserver.
func etcdClient(t *testing.T, pod string) *clientv3.Client {
	t.Helper()
	secret := &corev1.Secret{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: "kubia-etcd-tls"}, secret); err != nil {
		t.Fatal(err)
	}
	return etcdClientAt(t, pod+".kubia-etcd."+chartNamespace+".svc", podIP(t, chartNamespace, pod),
		pemPair{cert: secret.Data["client.crt"], key: secret.Data["client.key"]}, secret.Data["ca.crt"])
}

// etcdClientAt connects to the etcd member named host at address ip. Member certificates
// name hosts, not pod addresses, and the client verifies the endpoint's host: the endpoint
// is the name, dialled at the address (this machine does not resolve cluster names).
func etcdClientAt(t *testing.T, host, ip string, clientCert pemPair, caPEM []byte) *clientv3.Client {
	t.Helper()
	cert, err := tls.X509KeyPair(clientCert.cert, clientCert.key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	addr := net.JoinHostPort(ip, "2379")
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"https://" + net.JoinHostPort(host, "2379")},
		DialTimeout: 10 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		})},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
