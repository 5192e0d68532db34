package website

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

func testSite() *extensionsv1.Website {
	return &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia", Namespace: "ns", UID: "site-uid"},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: "https://example.com/site.git"},
	}
}

func storedDeployment(site *extensionsv1.Website) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ChildName(site), Namespace: site.Namespace, Labels: childLabels(site), Generation: 2,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "extensions.example.com/v1", Kind: "Website", Name: site.Name, UID: site.UID, Controller: ptr.To(true)}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubia"}}},
		Spec: desiredDeploymentSpec(site, Images{WebServer: "nginx", Sync: "sync"}),
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Message: "long text"}}},
	}
}

func TestCompactDeploymentKeepsWhatReconcilesRead(t *testing.T) {
	site := testSite()
	obj, err := compactDeployment(storedDeployment(site))
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*appsv1.Deployment)
	if !metav1.IsControlledBy(got, site) || got.Generation != 2 || ptr.Deref(got.Spec.Replicas, 0) != 1 ||
		got.Status.AvailableReplicas != 1 || got.Status.ObservedGeneration != 2 {
		t.Errorf("compact Deployment lost what a reconcile reads: %+v", got)
	}
	if len(got.Spec.Template.Spec.Containers) != 0 || got.Labels != nil || got.ManagedFields != nil || got.Status.Conditions != nil {
		t.Errorf("compact Deployment kept what no reconcile reads: %+v", got)
	}
	desired := desiredDeploymentSpec(site, Images{WebServer: "nginx", Sync: "sync"})
	if cachedHash(got) != deploymentHash(childLabels(site), &desired) {
		t.Error("the hash of an unchanged Deployment differs from the desired one")
	}
}

func TestManagedHashes(t *testing.T) {
	site := testSite()
	imgs := Images{WebServer: "nginx", Sync: "sync"}
	desired := desiredDeploymentSpec(site, imgs)
	want := deploymentHash(childLabels(site), &desired)
	tests := []struct {
		name    string
		edit    func(d *appsv1.Deployment)
		changed bool
	}{
		{"unchanged", func(*appsv1.Deployment) {}, false},
		{"a user's label added", func(d *appsv1.Deployment) { d.Labels["team"] = "web" }, false},
		{"a managed label removed", func(d *appsv1.Deployment) { delete(d.Labels, ManagedByLabel) }, true},
		{"image edited", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "other" }, true},
		{"scaled", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := storedDeployment(site)
			tt.edit(d)
			if changed := deploymentHash(d.Labels, &d.Spec) != want; changed != tt.changed {
				t.Errorf("hash changed: %v, want %v", changed, tt.changed)
			}
		})
	}

	ports := desiredServicePorts()
	wantSvc := serviceHash(childLabels(site), corev1.ServiceTypeNodePort, selectorLabels(site), ports)
	assigned := desiredServicePorts()
	assigned[0].NodePort = 31000
	if serviceHash(childLabels(site), corev1.ServiceTypeNodePort, selectorLabels(site), assigned) != wantSvc {
		t.Error("an assigned node port changed the Service's hash")
	}
	if serviceHash(childLabels(site), corev1.ServiceTypeClusterIP, selectorLabels(site), ports) == wantSvc {
		t.Error("a changed Service type kept the Service's hash")
	}
	// The Service of an earlier Kubia, with kubia-sync's port beside the site's, is repaired.
	withSyncPort := append(desiredServicePorts(), corev1.ServicePort{Name: "sync", Port: 8081, TargetPort: intstr.FromString("sync"), Protocol: corev1.ProtocolTCP})
	if serviceHash(childLabels(site), corev1.ServiceTypeNodePort, selectorLabels(site), withSyncPort) == wantSvc {
		t.Error("the earlier two-port Service has the one-port Service's hash")
	}
}

func TestCompactPodKeepsWhereSyncIsAsked(t *testing.T) {
	site := testSite()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kubia-website-abc", Namespace: "ns", Labels: mergeLabels(childLabels(site), map[string]string{"pod-template-hash": "abc"}),
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: podSpec(site, Images{WebServer: "nginx", Sync: "sync"}),
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.1.7", Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue, Message: "ok"},
		}, ContainerStatuses: []corev1.ContainerStatus{{Name: "sync", Ready: true}}},
	}
	obj, err := compactPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Pod)
	if !runsSync(got) || !podReady(got) || got.Status.PodIP != "198.18.1.7" || got.Labels[instanceLabel] != "kubia" {
		t.Errorf("compact pod lost what a reconcile reads: %+v", got)
	}
	if len(got.Spec.Containers) != 0 || got.ManagedFields != nil || len(got.Status.ContainerStatuses) != 0 || len(got.Labels) != 2 {
		t.Errorf("compact pod kept what no reconcile reads: %+v", got)
	}
	pod.Status.Conditions[1].Status = corev1.ConditionFalse
	if obj, _ = compactPod(pod); podReady(obj.(*corev1.Pod)) {
		t.Error("a pod that is not Ready is Ready once compacted")
	}
}

func TestCompactDeploymentKeepsFailedRollout(t *testing.T) {
	d := storedDeployment(testSite())
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "too slow"})
	obj, _ := compactDeployment(d)
	if !deploymentFailed(obj.(*appsv1.Deployment)) {
		t.Error("the compact Deployment forgot that its rollout failed")
	}
}
