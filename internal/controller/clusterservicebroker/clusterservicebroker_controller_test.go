package clusterservicebroker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/clusterservicebroker"
	"github.com/kubia-dev/kubia/internal/controller/serviceinstance"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/pgbroker"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

const timeout = time.Minute

// catalogServer serves a catalog the test may change, behind basic auth, and counts
// the fetches.
type catalogServer struct {
	mu      sync.Mutex
	catalog osb.Catalog
	fetches int
	creds   osb.Credentials
}

func (s *catalogServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, _ := r.BasicAuth()
	if user != s.creds.Username || password != s.creds.Password {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"description":"bad credentials"}`))
		return
	}
	if r.URL.Path != "/v2/catalog" || r.Header.Get(osb.HeaderAPIVersion) != osb.APIVersion {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{}`))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	_ = json.NewEncoder(w).Encode(s.catalog)
}

func (s *catalogServer) set(c osb.Catalog) { s.mu.Lock(); s.catalog = c; s.mu.Unlock() }

func (s *catalogServer) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.fetches }

// A broker's catalog becomes classes and plans; raising relistRequests fetches it again;
// a plan the catalog drops is deleted, unless an instance uses it, then marked removed;
// wrong credentials make the broker not Ready, with the reason and an event.
func TestBrokerCatalogBecomesClassesAndPlans(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	harness.StartControllers(t, manager.Options{Namespaces: []string{ns}})
	server := &catalogServer{catalog: pgbroker.Catalog(), creds: osb.Credentials{Username: "u", Password: "p"}}
	httpServer := httptest.NewServer(server)
	t.Cleanup(httpServer.Close)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broker-auth", Namespace: ns},
		StringData: map[string]string{"username": "u", "password": "p"}}
	if err := c.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	broker := &sc.ClusterServiceBroker{
		ObjectMeta: metav1.ObjectMeta{Name: "test-broker-" + ns},
		Spec: sc.ClusterServiceBrokerSpec{URL: httpServer.URL, AuthInfo: &sc.AuthInfo{
			Basic: &sc.BasicAuthConfig{SecretRef: sc.ObjectReference{Namespace: ns, Name: "broker-auth"}}}},
	}
	if err := c.Create(t.Context(), broker); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), broker) })
	waitReady(t, broker, metav1.ConditionTrue, clusterservicebroker.ReasonFetchedCatalog)

	class := &sc.ClusterServiceClass{ObjectMeta: metav1.ObjectMeta{Name: pgbroker.ServiceName}}
	harness.WaitFor(t, class, timeout, "the class exists", func() error { return nil })
	if class.Spec.ExternalID != pgbroker.ServiceID || !class.Spec.Bindable || !class.Spec.PlanUpdatable ||
		class.Spec.Description != "A PostgreSQL database" || class.Spec.ClusterServiceBrokerName != broker.Name {
		t.Errorf("class spec %+v", class.Spec)
	}
	for name, want := range map[string]string{"free": "A free (but slow) PostgreSQL instance", "premium": "A paid (very fast) PostgreSQL instance"} {
		plan := &sc.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: clusterservicebroker.PlanName(pgbroker.ServiceName, name)}}
		harness.WaitFor(t, plan, timeout, "plan "+name+" exists", func() error { return nil })
		if plan.Spec.Description != want || plan.Spec.ClusterServiceClassRef.Name != class.Name || plan.Spec.InstanceCreateParameterSchema == nil {
			t.Errorf("plan %s spec %+v", name, plan.Spec)
		}
	}
	out := harness.Kubectl(t, "get", "clusterserviceclasses")
	if !strings.Contains(out, "postgres-database") || !strings.Contains(out, "A PostgreSQL database") {
		t.Errorf("kubectl get clusterserviceclasses:\n%s", out)
	}
	if out := harness.Kubectl(t, "get", "clusterserviceplans"); !strings.Contains(out, "premium") || !strings.Contains(out, "postgres-database") {
		t.Errorf("kubectl get clusterserviceplans:\n%s", out)
	}

	// An instance uses the free plan; the catalog then drops both plans.
	instance := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: pgbroker.ServiceName, ClusterServicePlanName: "free"}}
	if err := c.Create(t.Context(), instance); err != nil {
		t.Fatal(err)
	}
	reduced := pgbroker.Catalog()
	reduced.Services[0].Plans = nil
	reduced.Services[0].Description = "A PostgreSQL database, no new plans"
	server.set(reduced)
	before := server.count()
	relist(t, broker)
	harness.Eventually(t, timeout, "the catalog was fetched again", func(context.Context) error {
		if server.count() == before {
			return fmt.Errorf("%d fetches", server.count())
		}
		return nil
	})
	free := &sc.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: clusterservicebroker.PlanName(pgbroker.ServiceName, "free")}}
	harness.WaitFor(t, free, timeout, "the used plan is marked removed, not deleted", func() error {
		if !free.Status.RemovedFromBrokerCatalog {
			return fmt.Errorf("not marked removed")
		}
		return nil
	})
	// A removed plan takes no new instances.
	late := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: pgbroker.ServiceName, ClusterServicePlanName: "free"}}
	if err := c.Create(t.Context(), late); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, late, timeout, "an instance of the removed plan is refused", func() error {
		if c := meta.FindStatusCondition(late.Status.Conditions, sc.ConditionFailed); c == nil || c.Status != metav1.ConditionTrue || c.Reason != serviceinstance.ReasonRemovedPlan {
			return fmt.Errorf("conditions %+v", late.Status.Conditions)
		}
		return nil
	})
	harness.Eventually(t, timeout, "the unused plan is deleted", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKey{Name: clusterservicebroker.PlanName(pgbroker.ServiceName, "premium")}, &sc.ClusterServicePlan{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("premium plan still there: %v", err)
	})
	harness.WaitFor(t, class, timeout, "the class follows the catalog", func() error {
		if class.Spec.Description != "A PostgreSQL database, no new plans" {
			return fmt.Errorf("description %q", class.Spec.Description)
		}
		return nil
	})

	// Wrong credentials: not Ready, with the reason, and an event.
	secret.StringData = map[string]string{"password": "wrong"}
	if err := c.Update(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	relist(t, broker)
	waitReady(t, broker, metav1.ConditionFalse, clusterservicebroker.ReasonErrorFetchingCatalog)
	if !strings.Contains(meta.FindStatusCondition(broker.Status.Conditions, sc.ConditionReady).Message, "401") {
		t.Errorf("condition message lacks the broker's status: %+v", broker.Status.Conditions)
	}
	if out := harness.Kubectl(t, "get", "clusterservicebroker", broker.Name); !strings.Contains(out, clusterservicebroker.ReasonErrorFetchingCatalog) {
		t.Errorf("kubectl get clusterservicebroker:\n%s", out)
	}
}

// relist raises the broker's relistRequests, which fetches the catalog at once.
func relist(t *testing.T, broker *sc.ClusterServiceBroker) {
	t.Helper()
	c := harness.Get(t).Client
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(broker), broker); err != nil {
		t.Fatal(err)
	}
	broker.Spec.RelistRequests++
	if err := c.Update(t.Context(), broker); err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, broker *sc.ClusterServiceBroker, status metav1.ConditionStatus, reason string) {
	t.Helper()
	harness.WaitFor(t, broker, timeout, "the broker's Ready condition is "+string(status)+"/"+reason, func() error {
		cond := meta.FindStatusCondition(broker.Status.Conditions, sc.ConditionReady)
		if cond == nil || cond.Status != status || cond.Reason != reason || broker.Status.ObservedGeneration != broker.Generation {
			return fmt.Errorf("conditions %+v", broker.Status.Conditions)
		}
		return nil
	})
}
