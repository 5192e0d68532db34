// Package website reconciles Websites: for each one a Deployment of a web server with a
// Git-sync sidecar and a Service, both named <name>-website, and a status telling where
// the site is served.
package website

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// Condition types and reasons of a Website's status.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"

	ReasonAvailable        = "Available"
	ReasonRollingOut       = "RollingOut"
	ReasonChildConflict    = "ChildConflict"
	ReasonReconcileFailed  = "ReconcileFailed"
	ReasonAsExpected       = "AsExpected"
	ReasonScaledToZero     = "ScaledToZero"
	ReasonDeploymentFailed = "ProgressDeadlineExceeded"
)

// Reconciler makes the cluster match each Website.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, for the full Deployment the cache does not keep.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Images    Images
	// Commits tells which commit a Website's pods serve; nil asks kubia-sync's /status
	// through the Service (which needs a route to Service IPs, as in-cluster or on the node).
	Commits func(ctx context.Context, svc *corev1.Service) (string, error)
}

// +kubebuilder:rbac:groups=extensions.example.com,resources=websites,verbs=get;list;watch
// +kubebuilder:rbac:groups=extensions.example.com,resources=websites/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller: Websites, and the Deployments and Services
// they own, so a change to a child re-reconciles its Website. The manager's cache must
// be built with CacheOptions.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&extensionsv1.Website{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&networkingv1.Ingress{}).
		Named("website").
		Complete(r)
}

// errConflict reports a child of the Website's name that something else owns.
var errConflict = errors.New("exists and is not owned by this Website; it is left untouched")

// conflictRetry is how often a Website whose child name is taken looks again.
const conflictRetry = time.Minute

// Reconcile reads the Website and the cluster's state, creates or repairs the Deployment
// and Service, and writes the status once. It is level-based: the event that woke it up
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
		setConditions(status, metav1.ConditionFalse, ReasonChildConflict, err.Error())
		// The cache holds only Kubia's objects, so the other object's removal brings no
		// event: look again later.
		return ctrl.Result{RequeueAfter: conflictRetry}, r.writeStatus(ctx, site, status)
	case err != nil:
		setConditions(status, metav1.ConditionFalse, ReasonReconcileFailed, err.Error())
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, site, status))
	default:
		if err := r.observe(ctx, site, status, deploy, svc); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.writeStatus(ctx, site, status); err != nil {
		return ctrl.Result{}, err
	}
	if deploy != nil && deploy.Status.AvailableReplicas > 0 {
		// New commits bring no Kubernetes event: look at the served commit once per
		// sync interval.
		return ctrl.Result{RequeueAfter: syncInterval(site)}, nil
	}
	return ctrl.Result{}, nil
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

// observe fills the status from the children: where the site is served and whether the
// web servers are available.
func (r *Reconciler) observe(ctx context.Context, site *extensionsv1.Website, status *extensionsv1.WebsiteStatus, deploy *appsv1.Deployment, svc *corev1.Service) error {
	status.NodePort = 0
	if svc.Spec.Type != corev1.ServiceTypeClusterIP && len(svc.Spec.Ports) > 0 {
		status.NodePort = svc.Spec.Ports[0].NodePort
	}
	url, err := r.siteURL(ctx, site, status.NodePort)
	if err != nil {
		return err
	}
	status.URL = url
	if site.Spec.Ingress != nil {
		status.URL = ingressURL(site)
	}
	if deploy.Status.AvailableReplicas > 0 {
		status.Commit = r.servedCommit(ctx, svc, status.Commit)
	}
	replicas := ptr.Deref(deploy.Spec.Replicas, 1)
	switch {
	case deploymentFailed(deploy):
		setConditions(status, metav1.ConditionFalse, ReasonDeploymentFailed, "The web servers did not become available in time")
	case deploy.Status.ObservedGeneration < deploy.Generation || deploy.Status.UpdatedReplicas < replicas ||
		deploy.Status.AvailableReplicas < replicas || deploy.Status.Replicas > replicas:
		setConditions(status, metav1.ConditionFalse, ReasonRollingOut,
			fmt.Sprintf("%d of %d web servers available", deploy.Status.AvailableReplicas, replicas))
	case replicas == 0:
		setConditions(status, metav1.ConditionFalse, ReasonScaledToZero, "The Website is scaled to zero replicas")
	default:
		setConditions(status, metav1.ConditionTrue, ReasonAvailable, fmt.Sprintf("The site is served at %s", status.URL))
	}
	return nil
}

// servedCommit asks kubia-sync which commit it serves; on failure it keeps the last
// known one (the status says "if available").
func (r *Reconciler) servedCommit(ctx context.Context, svc *corev1.Service, last string) string {
	commits := r.Commits
	if commits == nil {
		commits = syncStatusCommit
	}
	commit, err := commits(ctx, svc)
	if err != nil {
		log.FromContext(ctx).V(1).Info("Could not read the served commit", "error", err)
		return last
	}
	return commit
}

// syncStatusClient opens a connection per read: a kept-alive one would stay with the pod
// it first reached (conntrack pins the Service's translation), which after a rollout is an
// old pod serving the old commit, or one gone.
var syncStatusClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// syncStatusCommit reads the commit from kubia-sync's GET /status on the Service's sync port.
func syncStatusCommit(ctx context.Context, svc *corev1.Service) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(syncPort)) + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := syncStatusClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var status struct {
		Commit string `json:"commit"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&status); err != nil {
		return "", fmt.Errorf("decoding %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK || status.Commit == "" {
		return "", fmt.Errorf("GET %s: %s, no commit", url, resp.Status)
	}
	return status.Commit, nil
}

// siteURL is http://<node-address>:<nodePort>, the node address taken from a Node's
// InternalIP, or "" while there is no node port or no node.
func (r *Reconciler) siteURL(ctx context.Context, site *extensionsv1.Website, nodePort int32) (string, error) {
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

// setConditions sets Ready to readiness, and Progressing and Degraded to match.
func setConditions(status *extensionsv1.WebsiteStatus, ready metav1.ConditionStatus, reason, message string) {
	gen := status.ObservedGeneration
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionReady, Status: ready, Reason: reason, Message: message, ObservedGeneration: gen})
	progressing, degraded := metav1.ConditionFalse, metav1.ConditionFalse
	progressingReason, degradedReason := ReasonAsExpected, ReasonAsExpected
	switch reason {
	case ReasonRollingOut:
		progressing, progressingReason = metav1.ConditionTrue, reason
	case ReasonChildConflict, ReasonReconcileFailed, ReasonDeploymentFailed:
		degraded, degradedReason = metav1.ConditionTrue, reason
	}
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionProgressing, Status: progressing, Reason: progressingReason, Message: message, ObservedGeneration: gen})
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: ConditionDegraded, Status: degraded, Reason: degradedReason, Message: message, ObservedGeneration: gen})
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
