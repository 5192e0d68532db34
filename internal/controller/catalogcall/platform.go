package catalogcall

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PlatformKubernetes is the platform of the Kubernetes profile of the OSB specification,
// in context objects and originating identities alike (the profile wants both the same).
const PlatformKubernetes = "kubernetes"

// Platform reads what the Kubernetes profile tells brokers about where an instance
// lives: the cluster's id and a namespace's. The zero value is ready to use.
//
// The cluster's id is the UID of the kube-system Namespace: every cluster has it from
// its start to its end (the API server creates it and refuses to delete it), it is
// readable with get on Namespaces and nothing more, and it is remembered after the first
// read since it never changes. Namespaces are read past the cache: a provisioning is
// rare, and caching every Namespace of the cluster for their UIDs would cost memory and
// list/watch rights.
type Platform struct {
	mu        sync.Mutex
	clusterID string
}

// ClusterID returns the cluster's id, reading it through r the first time.
func (p *Platform) ClusterID(ctx context.Context, r client.Reader) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clusterID == "" {
		uid, err := NamespaceUID(ctx, r, metav1.NamespaceSystem)
		if err != nil {
			return "", fmt.Errorf("reading the cluster's id: %w", err)
		}
		p.clusterID = uid
	}
	return p.clusterID, nil
}

// NamespaceUID returns the UID of the Namespace name.
func NamespaceUID(ctx context.Context, r client.Reader, name string) (string, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return "", fmt.Errorf("reading Namespace %s: %w", name, err)
	}
	return string(ns.UID), nil
}
