package website

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// ManagedByLabel marks every object the controller makes; the cache holds only those.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// managedHashAnnotation exists only on the controller's cached copies of Deployments and
// Services: the hash of everything Kubia manages in the object, which the cache then
// drops.
const managedHashAnnotation = "kubia.dev/cached-managed-hash"

// lastAppliedAnnotation is kubectl apply's copy of the applied manifest.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheOptions shape the manager's cache so the controller's memory stays small with
// thousands of Websites: only Kubia's own Deployments, Services, Ingresses and Websites'
// pods, no managedFields, and Deployments and Services reduced to what a reconcile reads
// (its owner, what the status reports) plus the hash of what Kubia manages, which is all a
// reconcile compares; pods to where kubia-sync is asked. A reconcile that must write reads
// the whole object past the cache. everyIngressAndService caches every Ingress and
// Service, not only Kubia's, for a controller that reads them all (ingress-to-route);
// Services are still reduced.
func CacheOptions(everyIngressAndService bool) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{ManagedByLabel: "kubia"})
	websitePods := labels.SelectorFromSet(labels.Set{ManagedByLabel: "kubia", nameLabel: nameValue})
	ingressesAndServices := managed
	if everyIngressAndService {
		ingressesAndServices = nil
	}
	return cache.Options{
		// managedFields are bookkeeping the controller never reads, and a large part of
		// every cached object.
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&extensionsv1.Website{}: {Transform: compactWebsite},
			&appsv1.Deployment{}:    {Label: managed, Transform: compactDeployment},
			&corev1.Service{}:       {Label: ingressesAndServices, Transform: compactService},
			&networkingv1.Ingress{}: {Label: ingressesAndServices},
			&corev1.Pod{}:           {Label: websitePods, Transform: compactPod},
			&corev1.Node{}:          {Transform: compactNode},
		},
	}
}

// compactWebsite drops managedFields and kubectl's last-applied copy of the spec.
func compactWebsite(obj any) (any, error) {
	site, ok := obj.(*extensionsv1.Website)
	if !ok {
		return obj, nil
	}
	site.ManagedFields = nil
	delete(site.Annotations, lastAppliedAnnotation)
	if len(site.Annotations) == 0 {
		site.Annotations = nil
	}
	return site, nil
}

// compactDeployment keeps the owner, the replica count, the rollout's progress and the
// hash of the labels and spec Kubia manages.
func compactDeployment(obj any) (any, error) {
	deploy, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	compact := &appsv1.Deployment{
		ObjectMeta: compactMeta(&deploy.ObjectMeta, deploymentHash(deploy.Labels, &deploy.Spec)),
		Spec:       appsv1.DeploymentSpec{Replicas: deploy.Spec.Replicas},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: deploy.Status.ObservedGeneration,
			Replicas:           deploy.Status.Replicas,
			UpdatedReplicas:    deploy.Status.UpdatedReplicas,
			AvailableReplicas:  deploy.Status.AvailableReplicas,
		},
	}
	if deploymentFailed(deploy) {
		compact.Status.Conditions = []appsv1.DeploymentCondition{failedProgressing}
	}
	return compact, nil
}

// failedProgressing is the Deployment condition that says its rollout gave up.
var failedProgressing = appsv1.DeploymentCondition{
	Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
}

func deploymentFailed(deploy *appsv1.Deployment) bool {
	for _, cond := range deploy.Status.Conditions {
		if cond.Type == failedProgressing.Type && cond.Status == failedProgressing.Status && cond.Reason == failedProgressing.Reason {
			return true
		}
	}
	return false
}

// compactService keeps the owner, the type, the cluster IP and the ports (for the node
// port), and the hash of the labels and spec fields Kubia manages.
func compactService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	return &corev1.Service{
		ObjectMeta: compactMeta(&svc.ObjectMeta, serviceHash(svc.Labels, svc.Spec.Type, svc.Spec.Selector, svc.Spec.Ports)),
		Spec:       corev1.ServiceSpec{Type: svc.Spec.Type, ClusterIP: svc.Spec.ClusterIP, Ports: svc.Spec.Ports},
	}, nil
}

// compactPod keeps what tells whether and where a pod's kubia-sync can be asked, and
// whether the pod serves: its Website's labels, address, phase, start and readiness.
func compactPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	compact := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			DeletionTimestamp: pod.DeletionTimestamp,
			Labels:            map[string]string{nameLabel: pod.Labels[nameLabel], instanceLabel: pod.Labels[instanceLabel]},
		},
		Status: corev1.PodStatus{Phase: pod.Status.Phase, PodIP: pod.Status.PodIP, StartTime: pod.Status.StartTime},
	}
	if podReady(pod) {
		compact.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return compact, nil
}

// compactNode keeps a Node's addresses, where Websites are served; a Node's status (its
// images above all) is otherwise large.
func compactNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, UID: node.UID, ResourceVersion: node.ResourceVersion},
		Status:     corev1.NodeStatus{Addresses: node.Status.Addresses},
	}, nil
}

// compactMeta keeps the identity and ownership of a child, with its managed hash.
func compactMeta(meta *metav1.ObjectMeta, hash string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: meta.Name, Namespace: meta.Namespace, UID: meta.UID, ResourceVersion: meta.ResourceVersion,
		Generation: meta.Generation, DeletionTimestamp: meta.DeletionTimestamp, OwnerReferences: meta.OwnerReferences,
		Annotations: map[string]string{managedHashAnnotation: hash},
	}
}

// cachedHash is the managed hash of a cached child.
func cachedHash(obj client.Object) string {
	return obj.GetAnnotations()[managedHashAnnotation]
}

// managedLabels are the values of the labels Kubia sets; others (a user's) don't count.
func managedLabels(actual map[string]string) map[string]string {
	out := map[string]string{}
	for key := range childLabels(&extensionsv1.Website{}) {
		out[key] = actual[key]
	}
	return out
}

// deploymentHash identifies a Deployment's managed labels and spec by their JSON form, in
// which the API server's and the controller's agree when they mean the same (the desired
// spec spells out the API server's defaults).
func deploymentHash(labels map[string]string, spec *appsv1.DeploymentSpec) string {
	return hashJSON(struct {
		Labels map[string]string      `json:"labels"`
		Spec   *appsv1.DeploymentSpec `json:"spec"`
	}{managedLabels(labels), spec})
}

// serviceHash identifies a Service's managed labels, type, selector and ports, leaving
// out the node ports the API server assigns.
func serviceHash(labels map[string]string, typ corev1.ServiceType, selector map[string]string, ports []corev1.ServicePort) string {
	type port struct {
		Name       string             `json:"name"`
		Port       int32              `json:"port"`
		TargetPort intstr.IntOrString `json:"targetPort"`
		Protocol   corev1.Protocol    `json:"protocol"`
	}
	managedPorts := make([]port, len(ports))
	for i, p := range ports {
		managedPorts[i] = port{p.Name, p.Port, p.TargetPort, p.Protocol}
	}
	return hashJSON(struct {
		Labels   map[string]string  `json:"labels"`
		Type     corev1.ServiceType `json:"type"`
		Selector map[string]string  `json:"selector"`
		Ports    []port             `json:"ports"`
	}{managedLabels(labels), typ, selector, managedPorts})
}

func hashJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "" // never equal to a real hash: the object gets rewritten
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
