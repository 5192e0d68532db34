package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore makes a restart reissue a leaf certificate that would expire soon,
	// so a cluster kept across restarts never stops on an expired certificate.
	renewBefore = 30 * 24 * time.Hour
)

// certAuthority signs the leaf certificates of one cluster.
type certAuthority struct {
	cert *x509.Certificate
	key  crypto.Signer
	// certFile is the PEM file other components read to trust this authority;
	// keyFile is read by kube-controller-manager, which signs CSRs with it.
	certFile, keyFile string
}

// leafSpec describes one leaf certificate; name is its file stem in the PKI directory.
type leafSpec struct {
	name         string
	commonName   string
	organization []string
	usages       []x509.ExtKeyUsage
	dnsNames     []string
	ips          []net.IP
}

// keyPair names the PEM files of an issued certificate.
type keyPair struct {
	CertFile string
	KeyFile  string
}

// loadOrCreateCA reuses the authority stored under dir/name.{crt,key}, or creates one.
// Reuse matters: kubeconfigs handed out earlier stay valid across restarts.
func loadOrCreateCA(dir, name string) (*certAuthority, error) {
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if ca, err := loadCA(certFile, keyFile); err == nil {
		return ca, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("loading CA %s: %w", name, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key %s: %w", name, err)
	}
	caCert, err := cert.NewSelfSignedCACert(cert.Config{CommonName: "kubia-" + name}, key)
	if err != nil {
		return nil, fmt.Errorf("self-signing CA %s: %w", name, err)
	}
	if err := writeCertAndKey(certFile, keyFile, caCert, key); err != nil {
		return nil, err
	}
	return &certAuthority{cert: caCert, key: key, certFile: certFile, keyFile: keyFile}, nil
}

func loadCA(certFile, keyFile string) (*certAuthority, error) {
	certs, err := cert.CertsFromFile(certFile)
	if err != nil {
		if _, statErr := os.Stat(certFile); errors.Is(statErr, os.ErrNotExist) {
			return nil, statErr
		}
		return nil, err
	}
	key, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s does not hold a signing key", keyFile)
	}
	return &certAuthority{cert: certs[0], key: signer, certFile: certFile, keyFile: keyFile}, nil
}

// issue returns the key pair for spec under dir, reusing the stored one when it was signed
// by this authority, covers every name in spec and is not about to expire.
func (ca *certAuthority) issue(dir string, spec leafSpec) (keyPair, error) {
	pair := keyPair{CertFile: filepath.Join(dir, spec.name+".crt"), KeyFile: filepath.Join(dir, spec.name+".key")}
	if ca.stillValid(pair, spec) {
		return pair, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating key for %s: %w", spec.name, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return keyPair{}, fmt.Errorf("generating serial for %s: %w", spec.name, err)
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.organization},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  spec.usages,
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("signing certificate %s: %w", spec.name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("parsing certificate %s: %w", spec.name, err)
	}
	return pair, writeCertAndKey(pair.CertFile, pair.KeyFile, leaf, key)
}

func (ca *certAuthority) stillValid(pair keyPair, spec leafSpec) bool {
	certs, err := cert.CertsFromFile(pair.CertFile)
	if err != nil {
		return false
	}
	if _, err := keyutil.PrivateKeyFromFile(pair.KeyFile); err != nil {
		return false
	}
	leaf := certs[0]
	if leaf.CheckSignatureFrom(ca.cert) != nil || time.Until(leaf.NotAfter) < renewBefore {
		return false
	}
	if leaf.Subject.CommonName != spec.commonName || !slices.Equal(leaf.Subject.Organization, spec.organization) {
		return false
	}
	for _, name := range spec.dnsNames {
		if !slices.Contains(leaf.DNSNames, name) {
			return false
		}
	}
	for _, ip := range spec.ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func writeCertAndKey(certFile, keyFile string, c *x509.Certificate, key crypto.Signer) error {
	certPEM, err := cert.EncodeCertificates(c)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", certFile, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", keyFile, err)
	}
	if err := keyutil.WriteKey(keyFile, keyPEM); err != nil {
		return fmt.Errorf("writing %s: %w", keyFile, err)
	}
	if err := cert.WriteCert(certFile, certPEM); err != nil {
		return fmt.Errorf("writing %s: %w", certFile, err)
	}
	return nil
}

// ensureServiceAccountKey creates the key pair kube-apiserver signs service-account
// tokens with (and kube-controller-manager too), once per cluster.
func ensureServiceAccountKey(dir string) (keyPair, error) {
	pair := keyPair{CertFile: filepath.Join(dir, "service-account.pub"), KeyFile: filepath.Join(dir, "service-account.key")}
	keyPEM, _, err := keyutil.LoadOrGenerateKeyFile(pair.KeyFile)
	if err != nil {
		return keyPair{}, fmt.Errorf("service-account key: %w", err)
	}
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return keyPair{}, fmt.Errorf("parsing service-account key: %w", err)
	}
	publicKey, err := x509.MarshalPKIXPublicKey(key.(crypto.Signer).Public())
	if err != nil {
		return keyPair{}, fmt.Errorf("encoding service-account public key: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicKey})
	if err := os.WriteFile(pair.CertFile, pubPEM, 0o644); err != nil {
		return keyPair{}, fmt.Errorf("writing %s: %w", pair.CertFile, err)
	}
	return pair, nil
}
