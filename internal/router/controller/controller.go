// Package controller is kubia-router's control loop: it watches Routes, the
// EndpointSlices of their Services and the Secrets of their external certificates
// (secrets.go), decides which routes it admits (internal/router/admission), has the data
// plane serve them (internal/router/haproxy), and writes each Route's status entry for
// this router, as OpenShift's router does.
package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	routev1 "github.com/openshift/api/route/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubia-dev/kubia/internal/router/admission"
	"github.com/kubia-dev/kubia/internal/router/haproxy"
)

// ReasonExtendedValidationFailed is the reason of routes the data plane refused (a bad
// certificate, a configuration HAProxy rejects), OpenShift's.
const ReasonExtendedValidationFailed = "ExtendedValidationFailed"

// Options configure the controller.
type Options struct {
	// Name is the router's name in routes' status.ingress (routerName).
	Name string
	// CanonicalHostname, when set, is written as routerCanonicalHostname: the name DNS
	// records for the router's domain should point at.
	CanonicalHostname string
	// Domain is the router's domain: a route with a spec.subdomain and no host is served
	// at <subdomain>.<Domain>, as OpenShift's router does.
	Domain    string
	Admission admission.Options
	// Debounce is how long the controller waits after a change for more before it
	// applies them together.
	Debounce time.Duration
	// Resync is how often everything is applied again even without changes.
	Resync time.Duration
}

// Controller keeps the data plane and the routes' status up to date.
type Controller struct {
	opts    Options
	kube    kubernetes.Interface
	routes  rest.Interface
	manager *haproxy.Manager
	log     logr.Logger

	routeInformer, sliceInformer cache.SharedIndexInformer
	trigger                      chan struct{}
	writeStatus                  atomic.Bool

	// The status writer works apart from syncs, so that writing 1000 routes' status never
	// holds up the data plane: each sync leaves its decisions here, replacing any the
	// writer has not taken yet.
	statusMu      sync.Mutex
	pendingStatus *statusJob
	statusSignal  chan struct{}

	secrets secretMonitors
}

// statusJob is what one sync decided for each route.
type statusJob struct {
	routes    []*routev1.Route
	decisions map[string]admission.Decision
}

// RouteClient is a REST client of route.openshift.io/v1.
func RouteClient(cfg *rest.Config) (*rest.RESTClient, error) {
	scheme := runtime.NewScheme()
	if err := routev1.Install(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, routev1.GroupVersion)
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath, cfg.GroupVersion = "/apis", &routev1.GroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = "kubia-router"
	}
	return rest.RESTClientFor(cfg)
}

// New returns a controller applying routes to manager. It writes status once
// WriteStatus(true) (always, without leader election).
func New(cfg *rest.Config, manager *haproxy.Manager, opts Options, log logr.Logger) (*Controller, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	routes, err := RouteClient(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Debounce == 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.Resync == 0 {
		opts.Resync = 10 * time.Minute
	}
	c := &Controller{opts: opts, kube: kube, routes: routes, manager: manager, log: log, trigger: make(chan struct{}, 1),
		statusSignal: make(chan struct{}, 1), secrets: secretMonitors{}}
	factory := informers.NewSharedInformerFactory(kube, 0)
	c.sliceInformer = factory.Discovery().V1().EndpointSlices().Informer()
	lw := cache.NewListWatchFromClient(routes, "routes", metav1.NamespaceAll, fields.Everything())
	c.routeInformer = cache.NewSharedIndexInformer(lw, &routev1.Route{}, 0, cache.Indexers{})
	for _, inf := range []cache.SharedIndexInformer{c.sliceInformer, c.routeInformer} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { c.Trigger() },
			UpdateFunc: func(any, any) { c.Trigger() },
			DeleteFunc: func(any) { c.Trigger() },
		}); err != nil {
			return nil, err
		}
	}
	c.writeStatus.Store(true)
	return c, nil
}

// WriteStatus turns status writing on or off (replicas that are not the leader only serve).
func (c *Controller) WriteStatus(on bool) {
	c.writeStatus.Store(on)
	if on {
		c.Trigger()
	}
}

// Trigger asks for a sync soon; triggers coalesce.
func (c *Controller) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// Run watches and syncs until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	for _, inf := range []cache.SharedIndexInformer{c.sliceInformer, c.routeInformer} {
		go inf.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.sliceInformer.HasSynced, c.routeInformer.HasSynced) {
		return ctx.Err()
	}
	go c.runStatusWriter(ctx)
	resync := time.NewTicker(c.opts.Resync)
	defer resync.Stop()
	// HAProxy crashing is no event of the API: look for it every second.
	crashCheck := time.NewTicker(time.Second)
	defer crashCheck.Stop()
	backoff := time.Duration(0)
	c.Trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
		case <-c.trigger:
		case <-crashCheck.C:
			if !c.manager.Crashed() {
				continue
			}
		}
		// Changes come in bursts (a Deployment's endpoints, a kubectl apply of many
		// routes): wait a little and take them together, one configuration for all.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.opts.Debounce + backoff):
		}
		select {
		case <-c.trigger:
		default:
		}
		if err := c.sync(ctx); err != nil {
			backoff = min(max(2*backoff, 500*time.Millisecond), 30*time.Second)
			c.log.Error(err, "sync failed; retrying", "in", backoff)
			c.Trigger()
			continue
		}
		backoff = 0
	}
}

// sync applies every route and writes the status entries that changed.
func (c *Controller) sync(ctx context.Context) error {
	routes := c.listRoutes()
	c.updateSecretMonitors(ctx, routes)
	decisions := admission.Admit(c.admissionView(routes), c.opts.Admission)
	serve, told := c.plan(routes, decisions)
	res, err := c.manager.Apply(ctx, serve)
	if err != nil {
		return fmt.Errorf("applying %d routes: %w", len(serve), err)
	}
	for key, rejected := range res.Rejected {
		decisions[key] = admission.Decision{Reason: ReasonExtendedValidationFailed, Message: rejected.Error()}
	}
	c.statusMu.Lock()
	c.pendingStatus = &statusJob{routes: told, decisions: decisions}
	c.statusMu.Unlock()
	select {
	case c.statusSignal <- struct{}{}:
	default:
	}
	return nil
}

// plan is what the data plane serves of the admitted routes, with their external
// certificates, and the routes whose status can be told (not those whose secret the
// router does not know yet). A route whose secret cannot be served gets its decision.
func (c *Controller) plan(routes []*routev1.Route, decisions map[string]admission.Decision) (serve []*haproxy.Route, told []*routev1.Route) {
	svcs := c.services()
	told = make([]*routev1.Route, 0, len(routes))
	for _, r := range routes {
		key, served := keyOf(r), r
		if decisions[key].Admitted && externalSecret(r) != "" {
			st := c.secretState(r)
			if st.Pending {
				continue
			}
			if st.Decision != nil {
				decisions[key] = *st.Decision
			} else {
				served = withCertificate(r, st.Cert, st.Key)
			}
		}
		told = append(told, r)
		if decisions[key].Admitted {
			h := fromRoute(served, svcs)
			h.Host = c.hostOf(r)
			serve = append(serve, h)
		}
	}
	return serve, told
}

// statusWriteTimeout bounds one status write: a request stuck on a restarting
// kubia-apiserver must not stop the writer.
const statusWriteTimeout = 10 * time.Second

// runStatusWriter writes the latest sync's status entries that changed, while this
// replica writes status. A route changed meanwhile (a conflict) or a failed write asks for
// another sync, whose decisions are written then.
func (c *Controller) runStatusWriter(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.statusSignal:
		}
		c.statusMu.Lock()
		job := c.pendingStatus
		c.pendingStatus = nil
		c.statusMu.Unlock()
		if job == nil || !c.writeStatus.Load() {
			continue
		}
		failed := 0
		for _, r := range job.routes {
			wctx, cancel := context.WithTimeout(ctx, statusWriteTimeout)
			err := c.updateStatus(wctx, r, job.decisions[keyOf(r)])
			cancel()
			if err != nil && !apierrors.IsNotFound(err) {
				if !apierrors.IsConflict(err) {
					c.log.Error(err, "writing a route's status", "route", keyOf(r))
				}
				failed++
			}
		}
		if failed > 0 {
			time.AfterFunc(time.Second, c.Trigger)
		}
	}
}

func (c *Controller) listRoutes() []*routev1.Route {
	objs := c.routeInformer.GetStore().List()
	out := make([]*routev1.Route, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*routev1.Route))
	}
	sort.Slice(out, func(i, j int) bool { return keyOf(out[i]) < keyOf(out[j]) })
	return out
}

func (c *Controller) services() services {
	s := services{slices: map[string][]*discoveryv1.EndpointSlice{}}
	for _, o := range c.sliceInformer.GetStore().List() {
		slice := o.(*discoveryv1.EndpointSlice)
		if name := slice.Labels[discoveryv1.LabelServiceName]; name != "" {
			s.slices[slice.Namespace+"/"+name] = append(s.slices[slice.Namespace+"/"+name], slice)
		}
	}
	return s
}

func keyOf(r *routev1.Route) string { return r.Namespace + "/" + r.Name }

// hostOf is the host the router serves a route at: spec.host, else
// <spec.subdomain>.<router domain>.
func (c *Controller) hostOf(r *routev1.Route) string {
	if r.Spec.Host == "" && r.Spec.Subdomain != "" && c.opts.Domain != "" {
		return r.Spec.Subdomain + "." + c.opts.Domain
	}
	return r.Spec.Host
}

func (c *Controller) admissionView(routes []*routev1.Route) []*admission.Route {
	out := make([]*admission.Route, 0, len(routes))
	for _, r := range routes {
		a := &admission.Route{Namespace: r.Namespace, Name: r.Name, UID: r.UID, Created: r.CreationTimestamp.Time,
			Host: c.hostOf(r), Path: r.Spec.Path, Wildcard: r.Spec.WildcardPolicy == routev1.WildcardPolicySubdomain}
		if r.Spec.TLS != nil {
			a.TLS, a.Passthrough = true, r.Spec.TLS.Termination == routev1.TLSTerminationPassthrough
		}
		out = append(out, a)
	}
	return out
}
