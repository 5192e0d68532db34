package templateinstance

import (
	"context"
	"fmt"
	"strings"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// readinessCheck tells whether an object is ready and whether it failed for good.
type readinessCheck func(obj *unstructured.Unstructured) (ready, failed bool, err error)

// readinessChecks are OpenShift's checks for the kinds Kubia serves; objects of other
// kinds are not waited for, as in OpenShift. Builds, BuildConfigs and DeploymentConfigs
// come with their groups.
var readinessChecks = map[schema.GroupKind]readinessCheck{
	{Group: appsv1.GroupName, Kind: "Deployment"}:  deploymentReady,
	{Group: appsv1.GroupName, Kind: "StatefulSet"}: statefulSetReady,
	{Group: batchv1.GroupName, Kind: "Job"}:        jobReady,
	{Group: "route.openshift.io", Kind: "Route"}:   routeReady,
}

// checkReadiness reads, as the requester, each created object marked with
// WaitForReadyAnnotation, and tells whether all are ready; an object that failed, or one
// replaced by another of its name, is an error, as is waiting longer than an hour.
func (r *Reconciler) checkReadiness(ctx context.Context, ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus) (bool, error) {
	if time.Now().After(ti.CreationTimestamp.Add(readinessTimeout)) {
		return false, errReadinessTimeout
	}
	q, err := r.asRequester(ti)
	if err != nil {
		return false, err
	}
	for _, o := range status.Objects {
		gv, err := schema.ParseGroupVersion(o.Ref.APIVersion)
		if err != nil {
			return false, err
		}
		check, ok := readinessChecks[gv.WithKind(o.Ref.Kind).GroupKind()]
		if !ok {
			continue
		}
		mapping, err := r.Mapper.RESTMapping(gv.WithKind(o.Ref.Kind).GroupKind(), gv.Version)
		if err != nil {
			return false, err
		}
		obj, err := q.Resource(mapping.Resource).Namespace(o.Ref.Namespace).Get(ctx, o.Ref.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if obj.GetUID() != o.Ref.UID {
			return false, apierrors.NewNotFound(mapping.Resource.GroupResource(), o.Ref.Name)
		}
		if strings.ToLower(obj.GetAnnotations()[WaitForReadyAnnotation]) != "true" {
			continue
		}
		ready, failed, err := check(obj)
		if err != nil {
			return false, err
		}
		if failed {
			return false, fmt.Errorf("readiness failed on %s %s/%s", o.Ref.Kind, o.Ref.Namespace, o.Ref.Name)
		}
		if !ready {
			return false, nil
		}
	}
	return true, nil
}

// deploymentReady: the rollout is complete (Progressing True with NewReplicaSetAvailable,
// Available True, the generation observed); failed when Progressing is False.
func deploymentReady(obj *unstructured.Unstructured) (bool, bool, error) {
	d := &appsv1.Deployment{}
	if err := fromUnstructured(obj, d); err != nil {
		return false, false, err
	}
	if d.Status.ObservedGeneration != d.Generation {
		return false, false, nil
	}
	var progressing, available *appsv1.DeploymentCondition
	for i, c := range d.Status.Conditions {
		switch c.Type {
		case appsv1.DeploymentProgressing:
			progressing = &d.Status.Conditions[i]
		case appsv1.DeploymentAvailable:
			available = &d.Status.Conditions[i]
		}
	}
	if progressing == nil {
		return false, false, nil
	}
	ready := progressing.Status == corev1.ConditionTrue && progressing.Reason == "NewReplicaSetAvailable" &&
		available != nil && available.Status == corev1.ConditionTrue
	return ready, progressing.Status == corev1.ConditionFalse, nil
}

// statefulSetReady: every replica is ready and the generation observed; never failed.
func statefulSetReady(obj *unstructured.Unstructured) (bool, bool, error) {
	s := &appsv1.StatefulSet{}
	if err := fromUnstructured(obj, s); err != nil {
		return false, false, err
	}
	ready := s.Status.ObservedGeneration == s.Generation && s.Spec.Replicas != nil && s.Status.ReadyReplicas == *s.Spec.Replicas
	return ready, false, nil
}

// jobReady: ready once it has a completion time; failed as soon as a pod failed, as
// OpenShift judges it.
func jobReady(obj *unstructured.Unstructured) (bool, bool, error) {
	j := &batchv1.Job{}
	if err := fromUnstructured(obj, j); err != nil {
		return false, false, err
	}
	return j.Status.CompletionTime != nil, j.Status.Failed > 0, nil
}

// routeReady: ready once it has a host.
func routeReady(obj *unstructured.Unstructured) (bool, bool, error) {
	host, _, err := unstructured.NestedString(obj.Object, "spec", "host")
	return host != "", false, err
}

func fromUnstructured(obj *unstructured.Unstructured, into runtime.Object) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		return fmt.Errorf("reading %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
