package harness

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestMain(m *testing.M) { Main(m) }

const timeout = time.Minute

// The controller manager turns a Deployment into a ReplicaSet and Pods, and the scheduler
// looks at each Pod (with no node in this cluster it reports it unschedulable).
func TestDeploymentGetsReplicaSetAndPods(t *testing.T) {
	ns := Namespace(t)
	objs := ApplyFile(t, ns, "testdata/web.yaml")
	if len(objs) != 2 {
		t.Fatalf("applied %d objects, want 2 (the empty trailing document must be skipped)", len(objs))
	}
	c := Get(t).Client

	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}}
	WaitFor(t, deploy, timeout, "the Deployment's ReplicaSet holds 2 Pods", func() error {
		if deploy.Status.Replicas != 2 {
			return fmt.Errorf("status.replicas = %d", deploy.Status.Replicas)
		}
		return nil
	})

	var replicaSets appsv1.ReplicaSetList
	if err := c.List(t.Context(), &replicaSets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(replicaSets.Items) != 1 || !metav1.IsControlledBy(&replicaSets.Items[0], deploy) {
		t.Fatalf("want one ReplicaSet controlled by the Deployment, got %d", len(replicaSets.Items))
	}
	rs := &replicaSets.Items[0]

	Eventually(t, timeout, "the scheduler has looked at both Pods", func(ctx context.Context) error {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(pods.Items) != 2 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		for _, pod := range pods.Items {
			if !metav1.IsControlledBy(&pod, rs) {
				return fmt.Errorf("pod %s is not controlled by ReplicaSet %s", pod.Name, rs.Name)
			}
			if !unschedulable(&pod) {
				return fmt.Errorf("pod %s has no PodScheduled=False/Unschedulable condition yet", pod.Name)
			}
		}
		return nil
	})
}

func unschedulable(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

func TestDependentIsGarbageCollectedWithItsOwner(t *testing.T) {
	ns := Namespace(t)
	c := Get(t).Client
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: ns}}
	if err := c.Create(t.Context(), owner); err != nil {
		t.Fatal(err)
	}
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "dependent", Namespace: ns,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
	}}
	if err := c.Create(t.Context(), dependent); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), owner, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	Eventually(t, timeout, "the dependent ConfigMap is garbage-collected", func(ctx context.Context) error {
		return gone(c.Get(ctx, client.ObjectKeyFromObject(dependent), &corev1.ConfigMap{}))
	})
}

func TestNamespaceDeletionCompletes(t *testing.T) {
	c := Get(t).Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace(t)}}
	ApplyFile(t, ns.Name, "testdata/web.yaml")
	if err := c.Delete(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	Eventually(t, timeout, "the namespace and everything in it are deleted", func(ctx context.Context) error {
		return gone(c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}))
	})
}

// Applying the same manifest twice is a no-op the second time, like `kubectl apply`.
func TestApplyIsIdempotent(t *testing.T) {
	ns := Namespace(t)
	ApplyFile(t, ns, "testdata/web.yaml")
	deploy := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: ns, Name: "web"}
	if err := Get(t).Client.Get(t.Context(), key, deploy); err != nil {
		t.Fatal(err)
	}
	ApplyFile(t, ns, "testdata/web.yaml")
	again := &appsv1.Deployment{}
	if err := Get(t).Client.Get(t.Context(), key, again); err != nil {
		t.Fatal(err)
	}
	if again.Generation != deploy.Generation || ptr.Deref(again.Spec.Replicas, 0) != 2 {
		t.Fatalf("re-applying changed the Deployment: generation %d → %d", deploy.Generation, again.Generation)
	}
}

func gone(err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err == nil:
		return errors.New("still exists")
	default:
		return err
	}
}
