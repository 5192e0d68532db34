package node

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/pgbroker"
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

// BenchmarkBroker measures kubia-broker on the local node: for one instance at a time,
// the time from PUT (provision, free plan) until last_operation says succeeded, then
// until a bind returns credentials (KUBIA_BENCH_BROKER_RUNS runs, default 10, reported
// as p50 and p95); and the time until 20 instances provisioned at once have all
// succeeded. last_operation is polled every 100 ms. Run with `make bench`.
func BenchmarkBroker(b *testing.B) {
	harness.RequireNode(b)
	b.Run("one-instance", func(b *testing.B) {
		c, _ := startBroker(b)
		runs := envRuns("KUBIA_BENCH_BROKER_RUNS", 10)
		for b.Loop() {
			var provisions, totals []time.Duration
			for i := range runs {
				id := fmt.Sprintf("bench-%d", i)
				began := time.Now()
				c.provision("/v2/service_instances/"+id, freePlan)
				provisioned := time.Since(began)
				c.must(http.StatusCreated, "PUT", "/v2/service_instances/"+id+"/service_bindings/b", map[string]any{
					"service_id": pgbroker.ServiceID, "plan_id": pgbroker.FreePlanID})
				provisions, totals = append(provisions, provisioned), append(totals, time.Since(began))
				c.deprovision("/v2/service_instances/"+id, freePlanIDs)
			}
			b.ReportMetric(percentile(provisions, 50).Seconds(), "s-p50-provision")
			b.ReportMetric(percentile(totals, 50).Seconds(), "s-p50-provision+bind")
			b.ReportMetric(percentile(totals, 95).Seconds(), "s-p95-provision+bind")
		}
	})
	b.Run("20-concurrent", func(b *testing.B) {
		c, _ := startBroker(b)
		for n := 0; b.Loop(); n++ {
			var wg sync.WaitGroup
			durations := make([]time.Duration, 20)
			began := time.Now()
			for i := range durations {
				wg.Go(func() {
					if err := c.provisionErr(fmt.Sprintf("/v2/service_instances/concurrent-%d-%d", n, i), freePlan); err != nil {
						b.Error(err)
					}
					durations[i] = time.Since(began)
				})
			}
			wg.Wait()
			b.ReportMetric(time.Since(began).Seconds(), "s-all-20-provisioned")
			b.ReportMetric(percentile(durations, 50).Seconds(), "s-p50-provision")
			b.StopTimer()
			for i := range durations {
				c.deprovision(fmt.Sprintf("/v2/service_instances/concurrent-%d-%d", n, i), freePlanIDs)
			}
			b.StartTimer()
		}
	})
}

// The free plan, as a provisioning's body and a deprovisioning's query.
var (
	freePlan    = provisionBody(pgbroker.FreePlanID, nil)
	freePlanIDs = "service_id=" + pgbroker.ServiceID + "&plan_id=" + pgbroker.FreePlanID
)

// percentile is the p-th percentile (nearest rank) of durations.
func percentile(durations []time.Duration, p int) time.Duration {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

func envRuns(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
