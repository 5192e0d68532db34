package localcluster

import (
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
)

// credentials are the certificates, keys and kubeconfigs of one cluster.
type credentials struct {
	ca, frontProxyCA        *certAuthority
	apiserverServing        keyPair
	componentServing        keyPair // kube-controller-manager's and kube-scheduler's HTTPS endpoints
	frontProxyClient        keyPair // the aggregator's identity towards aggregated API servers
	serviceAccount          keyPair // CertFile is the public key
	kubeletServing          keyPair
	apiserverKubeletClient  keyPair // kube-apiserver's identity towards the kubelet
	controllerManagerConfig string
	schedulerConfig         string
	kubeletConfig           string
	kubeProxyConfig         string
}

// ensureCredentials creates (or reuses, on a restart) the cluster's PKI and writes the
// kubeconfigs of the admin, the controller manager and the scheduler.
func ensureCredentials(dirs layout, nodeIP, apiserverHost string, p ports) (credentials, error) {
	var creds credentials
	var err error
	if creds.ca, err = loadOrCreateCA(dirs.pki, "ca"); err != nil {
		return creds, err
	}
	// The aggregator's client identity comes from its own CA, as kube-apiserver requires:
	// aggregated servers trust request headers only from certificates of this CA.
	if creds.frontProxyCA, err = loadOrCreateCA(dirs.pki, "front-proxy-ca"); err != nil {
		return creds, err
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	server := x509.ExtKeyUsageServerAuth
	client := x509.ExtKeyUsageClientAuth
	issued := []struct {
		ca   *certAuthority
		spec leafSpec
		into *keyPair
	}{
		{creds.ca, leafSpec{
			name: "apiserver", commonName: "kube-apiserver", usages: []x509.ExtKeyUsage{server},
			dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(nodeIP), net.ParseIP(kubernetesServiceIP)},
		}, &creds.apiserverServing},
		{creds.ca, leafSpec{
			name: "components-serving", commonName: "kubia-components", usages: []x509.ExtKeyUsage{server},
			dnsNames: []string{"localhost"}, ips: loopback,
		}, &creds.componentServing},
		{creds.frontProxyCA, leafSpec{
			name: "front-proxy-client", commonName: "front-proxy-client", usages: []x509.ExtKeyUsage{client},
		}, &creds.frontProxyClient},
		{creds.ca, leafSpec{
			name: "kubelet-serving", commonName: NodeName, usages: []x509.ExtKeyUsage{server},
			dnsNames: []string{NodeName}, ips: []net.IP{net.ParseIP(nodeIP)},
		}, &creds.kubeletServing},
		{creds.ca, leafSpec{
			name: "apiserver-kubelet-client", commonName: apiserverKubeletUser, usages: []x509.ExtKeyUsage{client},
		}, &creds.apiserverKubeletClient},
	}
	for _, i := range issued {
		if *i.into, err = i.ca.issue(dirs.pki, i.spec); err != nil {
			return creds, err
		}
	}
	if creds.serviceAccount, err = ensureServiceAccountKey(dirs.pki); err != nil {
		return creds, err
	}

	// Each client gets its own identity, which the API server's bootstrap RBAC policy
	// already grants exactly what that component needs.

	serverURL := fmt.Sprintf("https://%s", net.JoinHostPort(apiserverHost, strconv.Itoa(p.apiserver)))
	clients := []struct {
		spec leafSpec
		path string
	}{
		{leafSpec{name: "admin", commonName: "kubia-admin", organization: []string{"system:masters"}}, dirs.kubeconfig},
		{leafSpec{name: "controller-manager", commonName: "system:kube-controller-manager"}, filepath.Join(dirs.pki, "controller-manager.kubeconfig")},
		{leafSpec{name: "scheduler", commonName: "system:kube-scheduler"}, filepath.Join(dirs.pki, "scheduler.kubeconfig")},
		{leafSpec{name: "kubelet", commonName: "system:node:" + NodeName, organization: []string{"system:nodes"}}, filepath.Join(dirs.pki, "kubelet.kubeconfig")},
		{leafSpec{name: "kube-proxy", commonName: "system:kube-proxy"}, filepath.Join(dirs.pki, "kube-proxy.kubeconfig")},
	}
	for _, cl := range clients {
		cl.spec.usages = []x509.ExtKeyUsage{client}
		pair, err := creds.ca.issue(dirs.pki, cl.spec)
		if err != nil {
			return creds, err
		}
		if err := writeKubeconfig(cl.path, serverURL, creds.ca.certFile, pair); err != nil {
			return creds, err
		}
	}
	creds.controllerManagerConfig, creds.schedulerConfig = clients[1].path, clients[2].path
	creds.kubeletConfig, creds.kubeProxyConfig = clients[3].path, clients[4].path
	return creds, nil
}

func etcdArgs(dirs layout, p ports) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(p.etcdClient)
	peer := "http://127.0.0.1:" + strconv.Itoa(p.etcdPeer)
	return []string{
		"--name=kubia",
		"--data-dir=" + dirs.etcd,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=kubia=" + peer,
		"--log-level=warn",
	}
}

func apiserverArgs(dirs layout, creds credentials, p ports, nodeIP, bindAddress string, withNode bool) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(p.etcdClient),
		"--bind-address=" + bindAddress,
		"--secure-port=" + strconv.Itoa(p.apiserver),
		"--advertise-address=" + nodeIP,
		"--cert-dir=" + dirs.pki,
		"--tls-cert-file=" + creds.apiserverServing.CertFile,
		"--tls-private-key-file=" + creds.apiserverServing.KeyFile,
		"--client-ca-file=" + creds.ca.certFile,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + creds.serviceAccount.CertFile,
		"--service-account-signing-key-file=" + creds.serviceAccount.KeyFile,
		// API aggregation: the aggregator authenticates to extension API servers with the
		// front-proxy client certificate and passes the user in these headers.
		"--requestheader-client-ca-file=" + creds.frontProxyCA.certFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + creds.frontProxyClient.CertFile,
		"--proxy-client-key-file=" + creds.frontProxyClient.KeyFile,
		// With a node, the aggregator dials an extension API server's endpoints (pod
		// IPs, which this machine routes) rather than rely on kube-proxy for its Service
		// IP. Without one there are no pods: an extension API server runs on this
		// machine behind an ExternalName Service for localhost, which only Service
		// routing resolves.
		"--enable-aggregator-routing=" + strconv.FormatBool(withNode),
		// logs, exec and port-forward: reach the kubelet at the node address, verify its
		// CA-signed serving certificate, and authenticate with a certificate of our own.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority=" + creds.ca.certFile,
		"--kubelet-client-certificate=" + creds.apiserverKubeletClient.CertFile,
		"--kubelet-client-key=" + creds.apiserverKubeletClient.KeyFile,
		"--profiling=false",
	}
}

func controllerManagerArgs(creds credentials, p ports) []string {
	return []string{
		"--kubeconfig=" + creds.controllerManagerConfig,
		"--authentication-kubeconfig=" + creds.controllerManagerConfig,
		"--authorization-kubeconfig=" + creds.controllerManagerConfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.controllerManager),
		"--tls-cert-file=" + creds.componentServing.CertFile,
		"--tls-private-key-file=" + creds.componentServing.KeyFile,
		"--root-ca-file=" + creds.ca.certFile,
		"--service-account-private-key-file=" + creds.serviceAccount.KeyFile,
		"--use-service-account-credentials=true",
		"--cluster-signing-cert-file=" + creds.ca.certFile,
		"--cluster-signing-key-file=" + creds.ca.keyFile,
		// One instance only: a lease left by a killed predecessor would otherwise delay
		// every controller until it expires.
		"--leader-elect=false",
		// The default client rate limit (QPS 50) makes bulk work crawl (500 Deployments
		// took 89 s instead of 6 s on these machines).
		"--kube-api-qps=1000",
		"--kube-api-burst=2000",
		"--profiling=false",
	}
}

func schedulerArgs(creds credentials, p ports) []string {
	return []string{
		"--kubeconfig=" + creds.schedulerConfig,
		"--authentication-kubeconfig=" + creds.schedulerConfig,
		"--authorization-kubeconfig=" + creds.schedulerConfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.scheduler),
		"--tls-cert-file=" + creds.componentServing.CertFile,
		"--tls-private-key-file=" + creds.componentServing.KeyFile,
		"--leader-elect=false",
		"--kube-api-qps=1000",
		"--kube-api-burst=2000",
		"--profiling=false",
	}
}
