package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	routev1 "github.com/openshift/api/route/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kubia-dev/kubia/internal/router/admission"
)

// The reasons of routes whose spec.tls.externalCertificate cannot be served, OpenShift's.
const (
	ReasonExternalCertificateValidationFailed = "ExternalCertificateValidationFailed"
	ReasonExternalCertificateSecretDeleted    = "ExternalCertificateSecretDeleted"
)

// accessRetry is how often the router asks again whether it may read a secret it was
// refused: users grant it with a Role, which the router does not watch.
const accessRetry = 10 * time.Second

var externalCertificatePath = field.NewPath("spec", "tls", "externalCertificate")

// A route's spec.tls.externalCertificate names a kubernetes.io/tls Secret of its
// namespace. As OpenShift's router does, kubia-router watches each such secret by name,
// so that users grant it get/list/watch on just that secret (a Role with resourceNames)
// rather than on every secret of the cluster, and it serves the secret's certificate
// and key, following its changes.
type secretMonitor struct {
	namespace, name string
	stop            context.CancelFunc

	mu sync.Mutex
	// refused is OpenShift's message while the router may not read the secret.
	refused string
	store   cache.Store
	synced  func() bool
	// seen is set once the secret existed, to tell a deleted secret from a missing one.
	seen bool
}

// secretState is what a route referring to a secret is told.
type secretState struct {
	// Pending is set until the router knows the secret: such a route is neither served
	// nor told anything yet.
	Pending  bool
	Decision *admission.Decision // set when the route cannot be served
	Cert     string
	Key      string
}

// state is what the route named key, referring to m's secret, gets now.
func (m *secretMonitor) state(key string) secretState {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.refused != "":
		return refusedState(m.refused)
	case m.store == nil || !m.synced():
		return secretState{Pending: true}
	}
	obj, ok, _ := m.store.GetByKey(m.namespace + "/" + m.name)
	if !ok {
		if m.seen {
			return secretState{Decision: &admission.Decision{Reason: ReasonExternalCertificateSecretDeleted,
				Message: fmt.Sprintf("secret %q deleted for route %q", m.name, key)}}
		}
		notFound := apierrors.NewNotFound(corev1.Resource("secrets"), m.name).Error()
		return refusedState(field.ErrorList{field.NotFound(externalCertificatePath, notFound)}.ToAggregate().Error())
	}
	secret := obj.(*corev1.Secret)
	if secret.Type != corev1.SecretTypeTLS {
		return refusedState(field.ErrorList{field.Invalid(externalCertificatePath, m.name,
			fmt.Sprintf("secret of type %q required", corev1.SecretTypeTLS))}.ToAggregate().Error())
	}
	return secretState{Cert: string(secret.Data[corev1.TLSCertKey]), Key: string(secret.Data[corev1.TLSPrivateKeyKey])}
}

func refusedState(msg string) secretState {
	return secretState{Decision: &admission.Decision{Reason: ReasonExternalCertificateValidationFailed, Message: msg}}
}

// run asks until the router may read the secret, then watches it until ctx ends; every
// change of what routes are told triggers a sync.
func (m *secretMonitor) run(ctx context.Context, kube kubernetes.Interface, trigger func(), log logr.Logger) {
	for {
		refused, err := accessRefused(ctx, kube, m.namespace, m.name)
		if err != nil {
			log.Error(err, "asking whether the router may read a secret", "namespace", m.namespace, "secret", m.name)
			refused = field.ErrorList{field.InternalError(externalCertificatePath, err)}.ToAggregate().Error()
		}
		m.mu.Lock()
		changed := m.refused != refused
		m.refused = refused
		m.mu.Unlock()
		if changed {
			trigger()
		}
		if refused == "" {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(accessRetry):
		}
	}
	selector := fields.OneTermEqualSelector(metav1.ObjectNameField, m.name)
	lw := cache.NewListWatchFromClient(kube.CoreV1().RESTClient(), "secrets", m.namespace, selector)
	inf := cache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, cache.Indexers{})
	seen := func() { m.mu.Lock(); m.seen = true; m.mu.Unlock(); trigger() }
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { seen() },
		UpdateFunc: func(any, any) { seen() },
		DeleteFunc: func(any) { trigger() },
	}); err != nil {
		log.Error(err, "watching a secret", "namespace", m.namespace, "secret", m.name)
		return
	}
	m.mu.Lock()
	m.store, m.synced = inf.GetStore(), inf.HasSynced
	m.mu.Unlock()
	go inf.Run(ctx.Done())
	if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		trigger() // a missing secret has no event to announce it
	}
}

// accessRefused asks the API server whether the router may get, watch and list the
// secret (OpenShift's router asks the same), returning OpenShift's message when not.
func accessRefused(ctx context.Context, kube kubernetes.Interface, namespace, name string) (string, error) {
	var errs field.ErrorList
	for _, verb := range []string{"get", "watch", "list"} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: "secrets", Name: name}}}
		got, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return "", fmt.Errorf("%s secret %s/%s: %w", verb, namespace, name, err)
		}
		if !got.Status.Allowed {
			errs = append(errs, field.Forbidden(externalCertificatePath,
				fmt.Sprintf("router serviceaccount does not have permission to %s this secret", verb)))
		}
	}
	if len(errs) == 0 {
		return "", nil
	}
	return errs.ToAggregate().Error(), nil
}

// secretMonitors are the monitors of the secrets routes refer to, by namespace/name.
// Only the control loop uses the map.
type secretMonitors map[string]*secretMonitor

// externalSecret is the secret a route's externalCertificate names, or "".
func externalSecret(r *routev1.Route) string {
	if r.Spec.TLS == nil || r.Spec.TLS.ExternalCertificate == nil {
		return ""
	}
	return r.Spec.TLS.ExternalCertificate.Name
}

// updateSecretMonitors starts monitors for the secrets routes refer to and stops the others.
func (c *Controller) updateSecretMonitors(ctx context.Context, routes []*routev1.Route) {
	wanted := map[string]bool{}
	for _, r := range routes {
		name := externalSecret(r)
		if name == "" {
			continue
		}
		key := r.Namespace + "/" + name
		wanted[key] = true
		if c.secrets[key] != nil {
			continue
		}
		mctx, stop := context.WithCancel(ctx)
		m := &secretMonitor{namespace: r.Namespace, name: name, stop: stop}
		c.secrets[key] = m
		go m.run(mctx, c.kube, c.Trigger, c.log)
	}
	for key, m := range c.secrets {
		if !wanted[key] {
			m.stop()
			delete(c.secrets, key)
		}
	}
}

// secretState is what route r, which has an externalCertificate, gets from its secret.
func (c *Controller) secretState(r *routev1.Route) secretState {
	return c.secrets[r.Namespace+"/"+externalSecret(r)].state(keyOf(r))
}
