package node

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/test/harness"
)

// BenchmarkPodStart measures, on the local node, the time from creating a Deployment of
// the nginx image built here to all its pods Running, for 1 and 10 replicas. ns/op is
// that time. Run with `make bench`.
func BenchmarkPodStart(b *testing.B) {
	harness.RequireNode(b)
	for _, replicas := range []int32{1, 10} {
		b.Run(strconv.Itoa(int(replicas))+"-replicas", func(b *testing.B) {
			ns := harness.Namespace(b)
			c := harness.Get(b).Client
			for i := 0; b.Loop(); i++ {
				deploy := nginxDeployment(ns, fmt.Sprintf("web-%d", i), replicas)
				if err := c.Create(b.Context(), deploy); err != nil {
					b.Fatal(err)
				}
				harness.Eventually(b, 5*time.Minute, "all pods run", func(ctx context.Context) error {
					return allRunning(ctx, c, ns, deploy.Name, int(replicas))
				})
				b.StopTimer()
				if err := c.Delete(b.Context(), deploy, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
					b.Fatal(err)
				}
				harness.Eventually(b, 5*time.Minute, "the pods are gone", func(ctx context.Context) error {
					var pods corev1.PodList
					if err := c.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": deploy.Name}); err != nil {
						return err
					}
					if len(pods.Items) > 0 {
						return fmt.Errorf("%d pods left", len(pods.Items))
					}
					return nil
				})
				b.StartTimer()
			}
		})
	}
}

func nginxDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](1),
					Containers: []corev1.Container{{
						Name: "nginx", Image: images.Ref("nginx"), ImagePullPolicy: corev1.PullNever,
					}},
				},
			},
		},
	}
}

func allRunning(ctx context.Context, c client.Client, ns, app string, want int) error {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		return err
	}
	running := 0
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodRunning {
			running++
		}
	}
	if running < want {
		return fmt.Errorf("%d of %d pods running", running, want)
	}
	return nil
}
