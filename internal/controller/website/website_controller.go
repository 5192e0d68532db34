// Package website reconciles Websites: for each one a Deployment of a web server with a
// Git-sync sidecar (kubia-sync), a Service for the site and, when asked, an Ingress, all
// named <name>-website, and a status telling where the site is served and whether
// syncing works.
package website

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// Reconciler makes the cluster match each Website.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, for the full Deployment the cache does not keep.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Images    Images
}

// +kubebuilder:rbac:groups=extensions.example.com,resources=websites,verbs=get;list;watch
// +kubebuilder:rbac:groups=extensions.example.com,resources=websites/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller: Websites, the Deployments, Services and
// Ingresses they own, and their pods, so a change to any re-reconciles its Website. The
// manager's cache must be built with CacheOptions.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, podWebsiteField, indexPodWebsite); err != nil {
		return fmt.Errorf("indexing pods by Website: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&extensionsv1.Website{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&networkingv1.Ingress{}).
		// A pod that starts or stops running is a kubia-sync to ask, or one less.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(websiteOfPod), builder.WithPredicates(podChanged)).
		Named("website").
		Complete(r)
}

// websiteOfPod names the Website whose Deployment runs pod.
func websiteOfPod(_ context.Context, pod client.Object) []reconcile.Request {
	names := indexPodWebsite(pod)
	if len(names) == 0 {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pod.GetNamespace(), Name: names[0]}}}
}

// podChanged passes pod updates that change what the cache keeps of a pod (its address,
// phase, readiness, deletion), not the kubelet's every status write.
var podChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	before, after := e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod)
	return !equality.Semantic.DeepEqual(before.Status, after.Status) || !before.DeletionTimestamp.Equal(after.DeletionTimestamp)
}}

// errConflict reports a child of the Website's name that something else owns.
var errConflict = errors.New("exists and is not owned by this Website; it is left untouched")

// conflictRetry is how often a Website whose child name is taken looks again.
const conflictRetry = time.Minute

// unservedRecheck is how soon a Website that serves nothing yet looks again at a
// kubia-sync still at its first sync: a failing first sync brings no Kubernetes event.
const unservedRecheck = 5 * time.Second

// Reconcile reads the Website and the cluster's state, creates or repairs the Deployment,
// Service and Ingress, and writes the status once. It is level-based: the event that woke it up
// does not matter.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	site := &extensionsv1.Website{}
	if err := r.Get(ctx, req.NamespacedName, site); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !site.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes the children
	}
	status := site.Status.DeepCopy()
	status.ObservedGeneration = site.Generation

	deploy, err := r.reconcileDeployment(ctx, site)
	var svc *corev1.Service
	if err == nil {
		svc, err = r.reconcileService(ctx, site)
	}
	if err == nil {
		err = r.reconcileIngress(ctx, site)
	}
	switch {
	case errors.Is(err, errConflict):
		r.Recorder.Eventf(site, nil, corev1.EventTypeWarning, ReasonChildConflict, "Reconcile", "%v", err)
		setConditions(status, failed(ReasonChildConflict, err.Error()))
		// The cache holds only Kubia's objects, so the other object's removal brings no
		// event: look again later.
		return ctrl.Result{RequeueAfter: conflictRetry}, r.writeStatus(ctx, site, status)
	case err != nil:
		setConditions(status, failed(ReasonReconcileFailed, err.Error()))
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, site, status))
	}
	report, err := r.observe(ctx, site, status, deploy, svc)
	if err != nil {
		return ctrl.Result{}, err
	}
	change := r.syncChangeToAnnounce(ctx, site, status)
	if err := r.writeStatus(ctx, site, status); err != nil {
		return ctrl.Result{}, err
	}
	r.announceSyncChange(site, status, change)
	return ctrl.Result{RequeueAfter: recheckAfter(site, deploy, report)}, nil
}

// recheckAfter is when to look again at what brings no Kubernetes event: the commit
// served and kubia-sync's errors.
func recheckAfter(site *extensionsv1.Website, deploy *appsv1.Deployment, report syncReport) time.Duration {
	switch {
	case report.running == 0 && deploy.Status.AvailableReplicas == 0:
		return 0 // a pod that starts running brings an event
	case deploy.Status.AvailableReplicas == 0 && report.firstSyncUnderWay():
		// Its outcome brings no event when it fails: look again soon.
		return unservedRecheck
	}
	// New commits and sync errors show within a sync interval; a sync that works again
	// makes a pod Ready, which updates the Deployment.
	return syncInterval(site)
}

// reconcileDeployment creates the Deployment or restores its spec where it drifted.
func (r *Reconciler) reconcileDeployment(ctx context.Context, site *extensionsv1.Website) (*appsv1.Deployment, error) {
	desired := desiredDeploymentSpec(site, r.Images)
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: ChildName(site), Namespace: site.Namespace}}
	err := r.Get(ctx, client.ObjectKeyFromObject(deploy), deploy)
	switch {
	case apierrors.IsNotFound(err):
		deploy.Labels, deploy.Spec = childLabels(site), desired
		return deploy, r.create(ctx, site, deploy)
	case err != nil:
		return nil, fmt.Errorf("reading Deployment %s: %w", deploy.Name, err)
	case !metav1.IsControlledBy(deploy, site):
		return nil, fmt.Errorf("Deployment %s: %w", deploy.Name, errConflict)
	}
	if cachedHash(deploy) == deploymentHash(childLabels(site), &desired) {
		return deploy, nil
	}
	// The cache keeps only a summary: update the Deployment as the API server has it.
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(deploy), deploy); err != nil {
		return nil, fmt.Errorf("reading Deployment %s: %w", deploy.Name, err)
	}
	deploy.Spec = desired
	deploy.Labels = mergeLabels(deploy.Labels, childLabels(site))
	return deploy, r.update(ctx, site, deploy)
}

// reconcileService creates the Service or restores the fields Kubia owns, keeping the
// cluster IP and node port the API server assigned.
func (r *Reconciler) reconcileService(ctx context.Context, site *extensionsv1.Website) (*corev1.Service, error) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: ChildName(site), Namespace: site.Namespace}}
	err := r.Get(ctx, client.ObjectKeyFromObject(svc), svc)
	switch {
	case apierrors.IsNotFound(err):
		svc.Labels = childLabels(site)
		svc.Spec = corev1.ServiceSpec{Type: serviceType(site), Selector: selectorLabels(site), Ports: desiredServicePorts()}
		return svc, r.create(ctx, site, svc)
	case err != nil:
		return nil, fmt.Errorf("reading Service %s: %w", svc.Name, err)
	case !metav1.IsControlledBy(svc, site):
		return nil, fmt.Errorf("Service %s: %w", svc.Name, errConflict)
	}
	if cachedHash(svc) == serviceHash(childLabels(site), serviceType(site), selectorLabels(site), desiredServicePorts()) {
		return svc, nil
	}
	// The cache keeps only a summary: update the Service as the API server has it.
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
		return nil, fmt.Errorf("reading Service %s: %w", svc.Name, err)
	}
	svc.Spec.Type, svc.Spec.Selector = serviceType(site), selectorLabels(site)
	svc.Spec.Ports = keepNodePorts(svc.Spec.Ports, desiredServicePorts(), svc.Spec.Type)
	svc.Labels = mergeLabels(svc.Labels, childLabels(site))
	return svc, r.update(ctx, site, svc)
}

// reconcileIngress creates or restores the Ingress when the Website asks for one, and
// deletes the one it made when it no longer does.
func (r *Reconciler) reconcileIngress(ctx context.Context, site *extensionsv1.Website) error {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: ChildName(site), Namespace: site.Namespace}}
	err := r.Get(ctx, client.ObjectKeyFromObject(ing), ing)
	switch {
	case apierrors.IsNotFound(err):
		if site.Spec.Ingress == nil {
			return nil
		}
		ing.Labels = childLabels(site)
		ing.Spec.Rules, ing.Spec.TLS = desiredIngressRules(site)
		return r.create(ctx, site, ing)
	case err != nil:
		return fmt.Errorf("reading Ingress %s: %w", ing.Name, err)
	case !metav1.IsControlledBy(ing, site):
		return fmt.Errorf("Ingress %s: %w", ing.Name, errConflict)
	case site.Spec.Ingress == nil:
		if err := r.Delete(ctx, ing); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting Ingress %s: %w", ing.Name, err)
		}
		r.Recorder.Eventf(site, ing, corev1.EventTypeNormal, "Deleted", "Delete", "Deleted Ingress %s: the Website no longer asks for one", ing.Name)
		return nil
	}
	rules, tls := desiredIngressRules(site)
	if equality.Semantic.DeepEqual(ing.Spec.Rules, rules) && equality.Semantic.DeepEqual(ing.Spec.TLS, tls) && hasLabels(ing.Labels, childLabels(site)) {
		return nil
	}
	ing.Spec.Rules, ing.Spec.TLS = rules, tls
	ing.Labels = mergeLabels(ing.Labels, childLabels(site))
	return r.update(ctx, site, ing)
}

func (r *Reconciler) create(ctx context.Context, site *extensionsv1.Website, obj client.Object) error {
	if err := controllerutil.SetControllerReference(site, obj, r.Scheme()); err != nil {
		return err
	}
	kind := kindOf(obj)
	err := r.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		// Not in the cache, which holds only Kubia's objects: someone else's.
		return fmt.Errorf("%s %s: %w", kind, obj.GetName(), errConflict)
	}
	if err != nil {
		r.Recorder.Eventf(site, obj, corev1.EventTypeWarning, "CreateFailed", "Create", "Creating %s %s failed: %v", kind, obj.GetName(), err)
		return fmt.Errorf("creating %s %s: %w", kind, obj.GetName(), err)
	}
	log.FromContext(ctx).Info("Created child", "kind", kind, "name", obj.GetName())
	r.Recorder.Eventf(site, obj, corev1.EventTypeNormal, "Created", "Create", "Created %s %s", kind, obj.GetName())
	return nil
}

func (r *Reconciler) update(ctx context.Context, site *extensionsv1.Website, obj client.Object) error {
	kind := kindOf(obj)
	if err := r.Update(ctx, obj); err != nil {
		return fmt.Errorf("updating %s %s: %w", kind, obj.GetName(), err)
	}
	log.FromContext(ctx).Info("Updated child", "kind", kind, "name", obj.GetName())
	r.Recorder.Eventf(site, obj, corev1.EventTypeNormal, "Updated", "Update", "Updated %s %s to match the Website", kind, obj.GetName())
	return nil
}

// observe fills the status from the children and kubia-sync: where the site is served
// (only while a web server is available), which commit, whether the web servers are
// available and whether syncing works.
func (r *Reconciler) observe(ctx context.Context, site *extensionsv1.Website, status *extensionsv1.WebsiteStatus, deploy *appsv1.Deployment, svc *corev1.Service) (syncReport, error) {
	status.NodePort = 0
	if svc.Spec.Type != corev1.ServiceTypeClusterIP && len(svc.Spec.Ports) > 0 {
		status.NodePort = svc.Spec.Ports[0].NodePort
	}
	report, err := r.observeSync(ctx, site)
	if err != nil {
		return syncReport{}, err
	}
	if commit := report.servedCommit(); commit != "" {
		status.Commit = commit
	}
	setSynced(status, syncCondition(report, ptr.Deref(deploy.Spec.Replicas, 1), meta.FindStatusCondition(status.Conditions, ConditionSynced)))
	status.URL = ""
	if deploy.Status.AvailableReplicas > 0 {
		if status.URL, err = r.siteURL(ctx, site, status.NodePort); err != nil {
			return syncReport{}, err
		}
	}
	setConditions(status, observedVerdict(deploy, syncFailure(status), status.URL))
	return report, nil
}

// syncChange is a change of the Synced condition that deserves an event.
type syncChange int

const (
	noSyncChange syncChange = iota
	syncStartedFailing
	syncRecovered
)

// syncChangeBetween tells how syncing changed from before to after: it started failing, or
// worked again after failing (not: became unknown, or worked from the start).
func syncChangeBetween(before, after *extensionsv1.WebsiteStatus) syncChange {
	switch {
	case syncFailure(after) != "" && syncFailure(before) == "":
		return syncStartedFailing
	case syncWorks(after) && syncFailure(before) != "":
		return syncRecovered
	}
	return noSyncChange
}

// syncChangeToAnnounce tells how syncing changed with status. The cache may not show this
// controller's last status write yet, so a change is confirmed against the API server
// before it is announced: one event per change, not one per reconcile.
func (r *Reconciler) syncChangeToAnnounce(ctx context.Context, site *extensionsv1.Website, status *extensionsv1.WebsiteStatus) syncChange {
	if syncChangeBetween(&site.Status, status) == noSyncChange {
		return noSyncChange
	}
	stored := &extensionsv1.Website{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(site), stored); err != nil {
		log.FromContext(ctx).Error(err, "Could not confirm a change of syncing against the API server; announcing it")
		return syncChangeBetween(&site.Status, status)
	}
	return syncChangeBetween(&stored.Status, status)
}

// announceSyncChange records an event when syncing starts failing, or works again. The
// error is bounded (syncstatus.Redact), so the note fits an event's 1 kB.
func (r *Reconciler) announceSyncChange(site *extensionsv1.Website, status *extensionsv1.WebsiteStatus, change syncChange) {
	switch {
	case change == syncStartedFailing:
		r.Recorder.Eventf(site, nil, corev1.EventTypeWarning, ReasonSyncFailed, "Sync", "%s%s", syncFailedPrefix, syncFailure(status))
	case change == syncRecovered && status.Commit != "":
		r.Recorder.Eventf(site, nil, corev1.EventTypeNormal, ReasonSynced, "Sync", "Synced the repository again; serving commit %s", status.Commit)
	case change == syncRecovered:
		r.Recorder.Eventf(site, nil, corev1.EventTypeNormal, ReasonSynced, "Sync", "Synced the repository again")
	}
}

// siteURL is the Ingress's http(s)://<host> when the Website has one, else
// http://<node-address>:<nodePort>, the node address taken from a Node's InternalIP, or ""
// while there is no node port or no node.
func (r *Reconciler) siteURL(ctx context.Context, site *extensionsv1.Website, nodePort int32) (string, error) {
	if site.Spec.Ingress != nil {
		return ingressURL(site), nil
	}
	if nodePort == 0 {
		return "", nil
	}
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	for _, node := range nodes.Items {
		for _, addr := range node.Status.Addresses {
			if addr.Type == corev1.NodeInternalIP {
				return "http://" + net.JoinHostPort(addr.Address, strconv.Itoa(int(nodePort))), nil
			}
		}
	}
	return "", nil
}

// writeStatus writes status through the status subresource, only when it changed. A
// merge patch needs no resourceVersion: a reconcile that ran on a cache not yet showing
// its predecessor's write does not fail with a conflict (and retry with backoff).
func (r *Reconciler) writeStatus(ctx context.Context, site *extensionsv1.Website, status *extensionsv1.WebsiteStatus) error {
	if equality.Semantic.DeepEqual(&site.Status, status) {
		return nil
	}
	before := site.DeepCopy()
	site.Status = *status
	if err := r.Status().Patch(ctx, site, client.MergeFrom(before)); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// keepNodePorts returns desired with the node ports already allocated for ports of the
// same name, so restoring a Service never moves the site to another port.
func keepNodePorts(actual, desired []corev1.ServicePort, typ corev1.ServiceType) []corev1.ServicePort {
	out := make([]corev1.ServicePort, len(desired))
	for i, d := range desired {
		out[i] = d
		for _, a := range actual {
			if a.Name == d.Name && typ != corev1.ServiceTypeClusterIP {
				out[i].NodePort = a.NodePort
			}
		}
	}
	return out
}

func hasLabels(actual, want map[string]string) bool {
	for k, v := range want {
		if actual[k] != v {
			return false
		}
	}
	return true
}

func mergeLabels(actual, want map[string]string) map[string]string {
	out := make(map[string]string, len(actual)+len(want))
	for k, v := range actual {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *appsv1.Deployment:
		return "Deployment"
	case *corev1.Service:
		return "Service"
	case *networkingv1.Ingress:
		return "Ingress"
	}
	return fmt.Sprintf("%T", obj)
}
