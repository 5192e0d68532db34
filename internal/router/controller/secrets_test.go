package controller

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// The router asks whether it may get, watch and list the secret, with OpenShift's
// messages for each verb refused.
func TestAccessRefused(t *testing.T) {
	tests := []struct {
		name    string
		allowed map[string]bool
		want    string
	}{
		{"all allowed", map[string]bool{"get": true, "watch": true, "list": true}, ""},
		{"watch refused", map[string]bool{"get": true, "list": true},
			"spec.tls.externalCertificate: Forbidden: router serviceaccount does not have permission to watch this secret"},
		{"all refused", nil, "[spec.tls.externalCertificate: Forbidden: router serviceaccount does not have permission to get this secret, " +
			"spec.tls.externalCertificate: Forbidden: router serviceaccount does not have permission to watch this secret, " +
			"spec.tls.externalCertificate: Forbidden: router serviceaccount does not have permission to list this secret]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			kube.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
				attrs := review.Spec.ResourceAttributes
				if attrs.Namespace != "ns" || attrs.Name != "tls" || attrs.Resource != "secrets" {
					t.Errorf("asked about %+v", attrs)
				}
				review.Status.Allowed = tt.allowed[attrs.Verb]
				return true, review, nil
			})
			got, err := accessRefused(context.Background(), kube, "ns", "tls")
			if err != nil || got != tt.want {
				t.Errorf("got %q %v, want %q", got, err, tt.want)
			}
		})
	}
}

// What a route is told of its secret: OpenShift's reasons and messages.
func TestSecretState(t *testing.T) {
	tlsSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}}
	opaque := tlsSecret.DeepCopy()
	opaque.Type = corev1.SecretTypeOpaque
	tests := []struct {
		name    string
		monitor func(*secretMonitor)
		reason  string
		message string
	}{
		{"refused", func(m *secretMonitor) { m.refused = "no" }, ReasonExternalCertificateValidationFailed, "no"},
		{"missing", func(m *secretMonitor) {}, ReasonExternalCertificateValidationFailed,
			`spec.tls.externalCertificate: Not found: "secrets \"tls\" not found"`},
		{"deleted", func(m *secretMonitor) { m.seen = true }, ReasonExternalCertificateSecretDeleted, `secret "tls" deleted for route "ns/web"`},
		{"not TLS", func(m *secretMonitor) { _ = m.store.Add(opaque) }, ReasonExternalCertificateValidationFailed,
			`spec.tls.externalCertificate: Invalid value: "tls": secret of type "kubernetes.io/tls" required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &secretMonitor{namespace: "ns", name: "tls", store: cache.NewStore(cache.MetaNamespaceKeyFunc), synced: func() bool { return true }}
			tt.monitor(m)
			st := m.state("ns/web")
			if st.Decision == nil || st.Decision.Reason != tt.reason || st.Decision.Message != tt.message {
				t.Errorf("got %+v", st.Decision)
			}
		})
	}
	m := &secretMonitor{namespace: "ns", name: "tls"}
	if st := m.state("ns/web"); !st.Pending {
		t.Errorf("before the watch: %+v", st)
	}
	m.store, m.synced = cache.NewStore(cache.MetaNamespaceKeyFunc), func() bool { return true }
	_ = m.store.Add(tlsSecret)
	if st := m.state("ns/web"); st.Decision != nil || st.Cert != "CERT" || st.Key != "KEY" {
		t.Errorf("with the secret: %+v", st)
	}
}
