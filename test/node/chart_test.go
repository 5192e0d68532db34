package node

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/pgbroker"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

const chartNamespace = "kubia-system"

// The Helm chart installs kubia-controller-manager with two replicas under least-privilege
// RBAC; they elect one leader, which alone reconciles; when it dies the other takes over.
func TestChartInstallsControllersWithLeaderElection(t *testing.T) {
	harness.RequireNode(t)
	chart, err := sourcetree.Path("charts/kubia")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := harness.Helm(t.Context(), t, "install", "kubia", chart, "--namespace", chartNamespace, "--create-namespace", "--wait", "--timeout", "3m"); err != nil {
		t.Fatal(err)
	}
	// The chart's controllers watch every namespace: remove them before other tests run.
	t.Cleanup(func() {
		if _, err := harness.Helm(context.Background(), t, "uninstall", "kubia", "--namespace", chartNamespace, "--wait"); err != nil {
			t.Error(err)
		}
	})
	c := harness.Get(t).Client
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kubia-controller-manager", Namespace: chartNamespace}}
	harness.WaitFor(t, deploy, timeout, "both replicas are ready", func() error {
		if deploy.Status.ReadyReplicas != 2 {
			return fmt.Errorf("%d ready", deploy.Status.ReadyReplicas)
		}
		return nil
	})
	assertChartBrokerProvisions(t)
	leader := waitForLeader(t, "")

	ns := harness.Namespace(t)
	first := createWebsite(t, ns, "first")
	assertReconciledBy(t, ns, first, leader.pod)

	// Kill the leader outright: it cannot release the Lease, which must expire before
	// another instance (the other replica, or the killed one restarted) leads.
	killed := time.Now()
	harness.KillContainer(t, chartNamespace, leader.pod, "kubia-controller-manager")
	successor := waitForLeader(t, leader.identity)
	t.Logf("killed leader %s; %s leads after %s", leader.identity, successor.identity, time.Since(killed).Round(time.Millisecond))
	second := createWebsite(t, ns, "second")
	assertReconciledBy(t, ns, second, successor.pod)

	// Remove the new leader's pod: it stops cleanly and hands over at once.
	if err := c.Delete(t.Context(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: successor.pod, Namespace: chartNamespace}},
		client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	third := waitForLeader(t, successor.identity)
	if third.pod == successor.pod {
		t.Fatalf("the deleted pod %s still leads", successor.pod)
	}
	assertReconciledBy(t, ns, createWebsite(t, ns, "third"), third.pod)
}

// assertChartBrokerProvisions checks the chart's kubia-broker: its Service answers with
// the generated credentials only, and its least-privilege RBAC is enough to provision
// and deprovision a database in the instances' namespace.
func assertChartBrokerProvisions(t *testing.T) {
	t.Helper()
	c := harness.Get(t).Client
	auth := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: "kubia-broker-auth"}, auth); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: chartNamespace, Name: "kubia-broker"}, svc); err != nil {
		t.Fatal(err)
	}
	broker := brokerClient{t: t, url: "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80"),
		creds: osb.Credentials{Username: string(auth.Data["username"]), Password: string(auth.Data["password"])}}
	if len(auth.Data["password"]) < 24 {
		t.Errorf("generated password of %d characters", len(auth.Data["password"]))
	}
	// Ready pods; kube-proxy may still be writing the Service's rules.
	harness.Eventually(t, timeout, "the broker's Service answers", func(ctx context.Context) error {
		resp, err := http.Get(broker.url + "/healthz")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	catalog := broker.must(http.StatusOK, "GET", "/v2/catalog", nil)
	if !strings.Contains(fmt.Sprint(catalog), pgbroker.ServiceName) {
		t.Errorf("catalog %v", catalog)
	}
	anonymous := broker
	anonymous.creds = osb.Credentials{}
	anonymous.must(http.StatusUnauthorized, "GET", "/v2/catalog", nil)

	const inst = "/v2/service_instances/chart-db"
	op := broker.must(http.StatusAccepted, "PUT", inst+"?accepts_incomplete=true", provisionBody(pgbroker.FreePlanID, nil))["operation"].(string)
	if state, desc := broker.waitOperation(inst, op, 3*time.Minute); state != osb.StateSucceeded {
		t.Fatalf("provisioning through the chart's broker %s: %s", state, desc)
	}
	broker.must(http.StatusCreated, "PUT", inst+"/service_bindings/b", map[string]any{"service_id": pgbroker.ServiceID, "plan_id": pgbroker.FreePlanID})
	broker.must(http.StatusOK, "DELETE", inst+"/service_bindings/b?service_id="+pgbroker.ServiceID+"&plan_id="+pgbroker.FreePlanID, nil)
	op = broker.must(http.StatusAccepted, "DELETE", inst+"?accepts_incomplete=true&service_id="+pgbroker.ServiceID+"&plan_id="+pgbroker.FreePlanID, nil)["operation"].(string)
	if state, desc := broker.waitOperation(inst, op, 3*time.Minute); state != osb.StateSucceeded {
		t.Fatalf("deprovisioning through the chart's broker %s: %s", state, desc)
	}
}

// leaderIdentity is a Lease holder: the pod and the instance (the pod's process) in it.
type leaderIdentity struct{ pod, identity string }

// waitForLeader waits until an instance other than previous holds the Lease.
func waitForLeader(t *testing.T, previous string) leaderIdentity {
	t.Helper()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kubia-controller-manager", Namespace: chartNamespace}}
	var holder string
	harness.WaitFor(t, lease, 2*timeout, "an instance other than "+previous+" leads", func() error {
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		if holder == "" || holder == previous {
			return fmt.Errorf("holder %q", holder)
		}
		return nil
	})
	// controller-runtime's identity is <hostname>_<uuid>; the hostname is the pod's name.
	return leaderIdentity{pod: strings.SplitN(holder, "_", 2)[0], identity: holder}
}

func createWebsite(t *testing.T, ns, name string) *extensionsv1.Website {
	t.Helper()
	site := &extensionsv1.Website{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       extensionsv1.WebsiteSpec{GitRepo: "https://" + localcluster.DefaultNodeIP + "/none.git", Replicas: ptr.To[int32](0)},
	}
	if err := harness.Get(t).Client.Create(t.Context(), site); err != nil {
		t.Fatal(err)
	}
	return site
}

// assertReconciledBy waits for the Website's Deployment and checks that every event the
// controllers reported about the Website came from pod.
func assertReconciledBy(t *testing.T, ns string, site *extensionsv1.Website, pod string) {
	t.Helper()
	harness.WaitFor(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: site.Name + "-website", Namespace: ns}}, timeout,
		site.Name+"'s Deployment exists", func() error { return nil })
	var events corev1.EventList
	harness.Eventually(t, timeout, "the creation events are recorded", func(ctx context.Context) error {
		if err := harness.Get(t).Client.List(ctx, &events, client.InNamespace(ns), client.MatchingFields{"involvedObject.name": site.Name}); err != nil {
			return err
		}
		if len(events.Items) < 2 {
			return fmt.Errorf("%d events", len(events.Items))
		}
		return nil
	})
	for _, ev := range events.Items {
		if !strings.Contains(ev.ReportingInstance, pod) {
			t.Errorf("event %q about %s reported by %q, not the leader %s", ev.Message, site.Name, ev.ReportingInstance, pod)
		}
	}
}
