package localcluster

import (
	"crypto/x509"
	"net"
	"os"
	"testing"
)

func TestIssueReusesOnlyMatchingCertificates(t *testing.T) {
	base := leafSpec{
		name: "server", commonName: "kube-apiserver", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		dnsNames: []string{"localhost"}, ips: []net.IP{net.ParseIP("127.0.0.1")},
	}
	withIP := base
	withIP.ips = append([]net.IP{net.ParseIP("198.18.0.7")}, base.ips...)
	renamed := base
	renamed.commonName = "someone-else"

	cases := map[string]struct {
		second    leafSpec
		otherCA   bool
		wantReuse bool
	}{
		"same spec, same CA":        {second: base, wantReuse: true},
		"a name the cert lacks":     {second: withIP},
		"another common name":       {second: renamed},
		"signed by another CA":      {second: base, otherCA: true},
		"fewer names than the cert": {second: leafSpec{name: base.name, commonName: base.commonName, usages: base.usages}, wantReuse: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ca := mustCA(t, dir, "ca")
			first, err := ca.issue(dir, base)
			if err != nil {
				t.Fatal(err)
			}
			before := mustRead(t, first.CertFile)

			signer := ca
			if tc.otherCA {
				signer = mustCA(t, dir, "other-ca")
			}
			second, err := signer.issue(dir, tc.second)
			if err != nil {
				t.Fatal(err)
			}
			if reused := string(before) == string(mustRead(t, second.CertFile)); reused != tc.wantReuse {
				t.Fatalf("certificate reused = %v, want %v", reused, tc.wantReuse)
			}
			if !signer.stillValid(second, tc.second) {
				t.Fatal("the certificate issue returned does not satisfy its own spec")
			}
		})
	}
}

func TestCAIsReusedAcrossLoads(t *testing.T) {
	dir := t.TempDir()
	first := mustCA(t, dir, "ca")
	second := mustCA(t, dir, "ca")
	if !first.cert.Equal(second.cert) {
		t.Fatal("a second load created a new CA instead of reusing the stored one")
	}
}

func TestServiceAccountKeyIsStable(t *testing.T) {
	dir := t.TempDir()
	first, err := ensureServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub := mustRead(t, first.CertFile)
	second, err := ensureServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(pub) != string(mustRead(t, second.CertFile)) {
		t.Fatal("service-account key changed between starts; issued tokens would stop working")
	}
}

func mustCA(t *testing.T, dir, name string) *certAuthority {
	t.Helper()
	ca, err := loadOrCreateCA(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
