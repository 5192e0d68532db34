package serviceinstance_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/serviceinstance"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/osb/osbtest"
	"github.com/kubia-dev/kubia/internal/pgbroker"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

const timeout = time.Minute

// setup registers a scriptable broker whose catalog has one service named service (with
// the PostgreSQL broker's plans) and starts the controllers for a new namespace.
func setup(t *testing.T, service string) (string, *osbtest.Broker, *sc.ClusterServiceBroker) {
	t.Helper()
	return setupWith(t, service, manager.Options{})
}

// setupWith is setup with the controllers' options.
func setupWith(t *testing.T, service string, opts manager.Options) (string, *osbtest.Broker, *sc.ClusterServiceBroker) {
	t.Helper()
	ns := harness.Namespace(t)
	b := &osbtest.Broker{}
	broker := osbtest.Register(t, harness.Get(t).Client, ns, "broker-"+service, osbtest.PostgresCatalog(service), b)
	opts.Namespaces = []string{ns}
	harness.StartControllers(t, opts)
	plan := &sc.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: service + "-free"}}
	harness.WaitFor(t, plan, timeout, "the catalog's plans exist", func() error { return nil })
	return ns, b, broker
}

func newInstance(t *testing.T, ns, name, service string, params string) *sc.ServiceInstance {
	t.Helper()
	inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: service, ClusterServicePlanName: "free"}}
	if params != "" {
		inst.Spec.Parameters = rawJSON(params)
	}
	if err := harness.Get(t).Client.Create(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	return inst
}

func waitCondition(t *testing.T, inst *sc.ServiceInstance, condType string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	harness.WaitFor(t, inst, timeout, fmt.Sprintf("%s is %s/%s", condType, status, reason), func() error {
		c := meta.FindStatusCondition(inst.Status.Conditions, condType)
		if c == nil || c.Status != status || c.Reason != reason {
			return fmt.Errorf("conditions %+v", inst.Status.Conditions)
		}
		return nil
	})
}

func waitGone(t *testing.T, inst *sc.ServiceInstance) {
	t.Helper()
	harness.Eventually(t, timeout, "the instance is gone", func(ctx context.Context) error {
		err := harness.Get(t).Client.Get(ctx, client.ObjectKeyFromObject(inst), &sc.ServiceInstance{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
}

// The book's instance, provisioned asynchronously: polled until the broker says
// succeeded, then Ready with the book's reason and message; deleting it deprovisions
// (asynchronously too) before the object goes.
func TestBookInstanceIsProvisionedAndDeprovisioned(t *testing.T) {
	ns, b, _ := setup(t, pgbroker.ServiceName)
	var polls atomic.Int32
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch call.Method {
		case "Provision":
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-provision"}}, nil
		case "Deprovision":
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-deprovision"}}, nil
		case "LastOperation":
			if polls.Add(1) < 3 {
				return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateInProgress, Description: "creating"}}, nil
			}
		}
		return osb.Response{}, nil
	})
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "database-instance.yaml"))
	inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "my-postgres-db", Namespace: ns}}
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	if c := meta.FindStatusCondition(inst.Status.Conditions, sc.ConditionReady); c.Message != serviceinstance.MessageProvisionedSuccessfully {
		t.Errorf("Ready message %q", c.Message)
	}
	if inst.Status.ProvisionStatus != sc.ProvisionStatusProvisioned || inst.Spec.ExternalID == "" || inst.Status.ObservedGeneration != inst.Generation {
		t.Errorf("status %+v, externalID %q", inst.Status, inst.Spec.ExternalID)
	}
	calls := b.Calls()
	provision := calls[0]
	body := provision.Body.(*osb.ProvisionRequest)
	if provision.Method != "Provision" || !provision.Request.AcceptsIncomplete || provision.Request.InstanceID != inst.Spec.ExternalID ||
		body.Parameters["init-db-args"] != "--data-checksums" || body.PlanID != pgbroker.FreePlanID+"-"+pgbroker.ServiceName ||
		provision.Request.OriginatingIdentity == nil || provision.Request.OriginatingIdentity.Platform != "kubernetes" {
		t.Errorf("provision call %+v body %+v", provision, body)
	}
	// The platform's ids, as the Kubernetes profile and v2.17's required fields want them.
	clusterID, namespaceUID := namespaceUID(t, metav1.NamespaceSystem), namespaceUID(t, ns)
	wantContext := map[string]any{"platform": "kubernetes", "namespace": ns, "clusterid": clusterID, "instance_name": "my-postgres-db"}
	if body.OrganizationGUID != clusterID || body.SpaceGUID != namespaceUID || !maps.Equal(body.Context, wantContext) {
		t.Errorf("provision organization_guid %q, space_guid %q, context %v; want %q, %q, %v",
			body.OrganizationGUID, body.SpaceGUID, body.Context, clusterID, namespaceUID, wantContext)
	}
	if out := harness.Kubectl(t, "get", "serviceinstances", "-n", ns); !strings.Contains(out, serviceinstance.ReasonProvisionedSuccessfully) {
		t.Errorf("kubectl get serviceinstances:\n%s", out)
	}

	if err := harness.Get(t).Client.Delete(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	waitGone(t, inst)
	methods := b.Methods()
	if !slices.Contains(methods, "Deprovision") || methods[len(methods)-1] != "LastOperation" {
		t.Errorf("calls %v: want a deprovisioning, polled to its end", methods)
	}
}

// A broker's refusal (409) is terminal: Failed with its description, no retries, and
// deleting needs no deprovisioning (a 4xx changes nothing at the broker).
func TestRefusedProvisioningFails(t *testing.T) {
	ns, b, _ := setup(t, "refusing-db")
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		if call.Method == "Provision" {
			return osb.Response{}, osb.Errorf(http.StatusConflict, "", "an instance with this id exists with other attributes")
		}
		return osb.Response{}, nil
	})
	inst := newInstance(t, ns, "refused", "refusing-db", "")
	waitCondition(t, inst, sc.ConditionFailed, metav1.ConditionTrue, serviceinstance.ReasonProvisionCallFailed)
	if c := meta.FindStatusCondition(inst.Status.Conditions, sc.ConditionFailed); !strings.Contains(c.Message, "exists with other attributes") {
		t.Errorf("Failed message %q", c.Message)
	}
	time.Sleep(3 * time.Second) // no retry may come
	if methods := b.Methods(); len(methods) != 1 {
		t.Errorf("calls %v, want the one refused provisioning", methods)
	}
	if err := harness.Get(t).Client.Delete(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	waitGone(t, inst)
	if methods := b.Methods(); slices.Contains(methods, "Deprovision") {
		t.Errorf("calls %v: nothing to deprovision after a 409", methods)
	}
}

// A 5xx or a timeout may have left something behind: the catalog deletes it (orphan
// mitigation) before it provisions again.
func TestUnansweredProvisioningIsMitigatedBeforeRetrying(t *testing.T) {
	const requestTimeout = time.Second
	tests := []struct {
		service string
		// firstAnswer is the broker's answer to the first provisioning.
		firstAnswer func() (osb.Response, error)
	}{
		{"flaky-db", func() (osb.Response, error) { return osb.Response{}, fmt.Errorf("database host unreachable") }},
		{"slow-db", func() (osb.Response, error) {
			time.Sleep(2 * requestTimeout) // the catalog has given up waiting by then
			return osb.Response{}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			ns, b, _ := setupWith(t, tt.service, manager.Options{BrokerRequestTimeout: requestTimeout})
			var provisions atomic.Int32
			b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
				if call.Method == "Provision" && provisions.Add(1) == 1 {
					return tt.firstAnswer()
				}
				return osb.Response{}, nil
			})
			inst := newInstance(t, ns, "unanswered", tt.service, `{"init-db-args":"--no-locale"}`)
			waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
			if methods := b.Methods(); len(methods) < 3 || !slices.Equal(methods[:3], []string{"Provision", "Deprovision", "Provision"}) {
				t.Errorf("calls %v, want Provision, Deprovision (orphan mitigation), Provision", methods)
			}
		})
	}
}

// A broker that is down (connection refused) never got the request: the catalog retries
// with backoff, showing why, and provisions once the broker is back, without an orphan
// mitigation.
func TestBrokerDownAtProvisionIsRetried(t *testing.T) {
	ns, b, _ := setup(t, "down-db")
	b.Stop()
	inst := newInstance(t, ns, "patient", "down-db", "")
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionFalse, serviceinstance.ReasonErrorCallingBroker)
	if c := meta.FindStatusCondition(inst.Status.Conditions, sc.ConditionReady); !strings.Contains(c.Message, "connection refused") {
		t.Errorf("Ready message %q does not say the broker refused the connection", c.Message)
	}
	if meta.IsStatusConditionTrue(inst.Status.Conditions, sc.ConditionFailed) {
		t.Error("Failed while the broker is down: it must be retried")
	}
	b.Start(t)
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	if methods := b.Methods(); !slices.Equal(methods, []string{"Provision"}) {
		t.Errorf("calls %v, want one Provision", methods)
	}
}

// Deleting an instance with bindings waits until they are gone; deleting one whose
// provisioning is in progress interrupts it at the broker; one whose broker is gone for
// good is released by the abandon annotation.
func TestDeletion(t *testing.T) {
	ns, b, broker := setup(t, "deleted-db")
	c := harness.Get(t).Client
	bound := newInstance(t, ns, "bound", "deleted-db", "")
	waitCondition(t, bound, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	binding := &sc.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: ns}, Spec: sc.ServiceBindingSpec{InstanceRef: sc.LocalObjectReference{Name: "bound"}}}
	if err := c.Create(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), bound); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, bound, sc.ConditionReady, metav1.ConditionFalse, serviceinstance.ReasonDeprovisionBlocked)
	if err := c.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	waitGone(t, bound)

	// Provisioning that never ends, interrupted by the deletion.
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch call.Method {
		case "Provision":
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "slow"}}, nil
		case "LastOperation":
			return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateInProgress}}, nil
		}
		return osb.Response{}, nil
	})
	slow := newInstance(t, ns, "slow", "deleted-db", "")
	waitCondition(t, slow, sc.ConditionReady, metav1.ConditionFalse, serviceinstance.ReasonProvisioning)
	if err := c.Delete(t.Context(), slow); err != nil {
		t.Fatal(err)
	}
	waitGone(t, slow)
	deprovisions := 0
	for _, call := range b.Calls() {
		if call.Method == "Deprovision" && call.Request.InstanceID == slow.Spec.ExternalID {
			deprovisions++
		}
	}
	if deprovisions == 0 {
		t.Error("deleting an instance being provisioned sent no DELETE to the broker")
	}

	// The broker goes for good: the instance stays until it is abandoned.
	b.SetAnswer(nil)
	orphan := newInstance(t, ns, "orphan", "deleted-db", "")
	waitCondition(t, orphan, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	if err := c.Delete(t.Context(), broker); err != nil {
		t.Fatal(err)
	}
	// A broker gone for good answers nothing: until the controller's cache sees the
	// broker deleted, its deprovisioning calls fail instead of releasing the instance.
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		return osb.Response{Status: http.StatusServiceUnavailable, Body: osb.ErrorResponse{Description: "gone"}}, nil
	})
	if err := c.Delete(t.Context(), orphan); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, orphan, timeout, "the instance says how to release it", func() error {
		cond := meta.FindStatusCondition(orphan.Status.Conditions, sc.ConditionReady)
		if cond == nil || !strings.Contains(cond.Message, serviceinstance.AnnotationAbandon) {
			return fmt.Errorf("conditions %+v", orphan.Status.Conditions)
		}
		return nil
	})
	harness.Kubectl(t, "annotate", "serviceinstance", "orphan", "-n", ns, serviceinstance.AnnotationAbandon+"=true")
	waitGone(t, orphan)
}

func rawJSON(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

func namespaceUID(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	return string(ns.UID)
}

// notFound is a broker's 404 to last_operation: the instance being polled does not exist.
var notFound = osb.Errorf(http.StatusNotFound, "", "instance does not exist")

// An asynchronous provisioning the broker reports failed, or polled as not found (404,
// the instance does not exist): Failed with the broker's word, then orphan mitigation,
// and no new attempt for the same spec.
func TestFailedAsyncProvisioningIsMitigated(t *testing.T) {
	cases := map[string]struct {
		service       string // cluster-wide names: one per case
		lastOperation func() (osb.Response, error)
		message       string
	}{
		"reported failed": {
			service: "failing-db",
			lastOperation: func() (osb.Response, error) {
				return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateFailed, Description: "disk full"}}, nil
			},
			message: "disk full",
		},
		"polled as not found": {
			service:       "vanished-db",
			lastOperation: func() (osb.Response, error) { return osb.Response{}, notFound },
			message:       "404",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns, b, _ := setup(t, tc.service)
			b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
				switch call.Method {
				case "Provision":
					return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "doomed"}}, nil
				case "LastOperation":
					return tc.lastOperation()
				}
				return osb.Response{}, nil
			})
			inst := newInstance(t, ns, "doomed", tc.service, "")
			waitCondition(t, inst, sc.ConditionFailed, metav1.ConditionTrue, serviceinstance.ReasonProvisionCallFailed)
			if c := meta.FindStatusCondition(inst.Status.Conditions, sc.ConditionFailed); !strings.Contains(c.Message, tc.message) {
				t.Errorf("Failed message %q does not give the broker's word (%q)", c.Message, tc.message)
			}
			harness.Eventually(t, timeout, "the orphan is mitigated", func(context.Context) error {
				if len(b.CallsOf("Deprovision")) == 0 {
					return fmt.Errorf("calls %v", b.Methods())
				}
				return nil
			})
			time.Sleep(2 * time.Second) // no new provisioning may come
			if provisions := b.CallsOf("Provision"); len(provisions) != 1 {
				t.Errorf("calls %v: a failed provisioning was retried without a spec change", b.Methods())
			}
		})
	}
}

// A deprovisioning polled as not found (404) is sent again; the broker's 410 to it (the
// instance does not exist) releases the instance.
func TestDeprovisioningPolledAsNotFoundIsSentAgain(t *testing.T) {
	ns, b, _ := setup(t, "forgotten-db")
	inst := newInstance(t, ns, "forgotten", "forgotten-db", "")
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch {
		case call.Method == "Deprovision" && len(b.CallsOf("Deprovision")) == 1:
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-deprovision"}}, nil
		case call.Method == "Deprovision":
			return osb.Response{}, osb.Errorf(http.StatusGone, "", "instance does not exist")
		case call.Method == "LastOperation":
			return osb.Response{}, notFound
		}
		return osb.Response{}, nil
	})
	if err := harness.Get(t).Client.Delete(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	waitGone(t, inst)
	// Compacted: a reconcile reading a cache that lags may poll once more.
	if methods := b.Methods(); !slices.Equal(slices.Compact(slices.Clone(methods)), []string{"Provision", "Deprovision", "LastOperation", "Deprovision"}) {
		t.Errorf("calls %v, want Provision, Deprovision, LastOperation (404), Deprovision (410)", methods)
	}
}

// Parameters from a Secret reach the broker merged with spec.parameters, and the status
// shows them redacted.
func TestParametersFromSecretAreSentAndRedacted(t *testing.T) {
	ns, b, _ := setup(t, "secret-params-db")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-params", Namespace: ns},
		StringData: map[string]string{"params": `{"init-db-args": "--locale=C"}`}}
	if err := harness.Get(t).Client.Create(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "with-secret", Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: "secret-params-db", ClusterServicePlanName: "free",
			ParametersFrom: []sc.ParametersFromSource{{SecretKeyRef: &sc.SecretKeyReference{Name: "db-params", Key: "params"}}}}}
	if err := harness.Get(t).Client.Create(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	body := b.Calls()[0].Body.(*osb.ProvisionRequest)
	if body.Parameters["init-db-args"] != "--locale=C" {
		t.Errorf("the broker got parameters %v", body.Parameters)
	}
	props := inst.Status.ExternalProperties
	if props == nil || !strings.Contains(string(props.Parameters.Raw), `"init-db-args":"\u003credacted\u003e"`) && !strings.Contains(string(props.Parameters.Raw), `"init-db-args":"<redacted>"`) ||
		strings.Contains(string(props.Parameters.Raw), "locale") || props.ParameterChecksum == "" {
		t.Errorf("status external properties %+v (%s)", props, props.Parameters.Raw)
	}
}

// kubia-controller-manager's process, SIGKILLed mid-operation twice: while its
// provisioning request is at the broker, then while it polls the operation. Each
// successor carries on from the instance's status: it repeats the unanswered request
// (the same instance id and body: idempotent at an OSB broker), then polls the same
// operation; the instance ends provisioned, once, with nothing to mitigate.
func TestKilledControllerManagerResumesProvisioning(t *testing.T) {
	ns := harness.Namespace(t)
	b := &osbtest.Broker{}
	osbtest.Register(t, harness.Get(t).Client, ns, "broker-killed-db", osbtest.PostgresCatalog("killed-db"), b)
	killed := make(chan struct{})
	var finished atomic.Bool
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch call.Method {
		case "Provision":
			if len(b.CallsOf("Provision")) == 1 {
				<-killed // answered only once the caller is dead
			}
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-1"}}, nil
		case "LastOperation":
			if !finished.Load() {
				return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateInProgress}}, nil
			}
		}
		return osb.Response{}, nil
	})
	binary := harness.BuildCommand(t, "kubia-controller-manager")
	first := startControllerManager(t, binary, ns)
	harness.WaitFor(t, &sc.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "killed-db-free"}}, timeout, "the catalog's plans exist", func() error { return nil })
	inst := newInstance(t, ns, "survivor", "killed-db", `{"init-db-args":"--no-locale"}`)
	harness.Eventually(t, timeout, "the provisioning request is at the broker", func(context.Context) error {
		if len(b.CallsOf("Provision")) == 0 {
			return fmt.Errorf("calls %v", b.Methods())
		}
		return nil
	})
	first.kill()
	close(killed)

	second := startControllerManager(t, binary, ns)
	harness.WaitFor(t, inst, timeout, "the provisioning is being polled", func() error {
		if !inst.Status.AsyncOpInProgress || len(b.CallsOf("LastOperation")) == 0 {
			return fmt.Errorf("async %v, calls %v", inst.Status.AsyncOpInProgress, b.Methods())
		}
		return nil
	})
	second.kill()
	finished.Store(true)

	startControllerManager(t, binary, ns)
	waitCondition(t, inst, sc.ConditionReady, metav1.ConditionTrue, serviceinstance.ReasonProvisionedSuccessfully)
	provisions := b.CallsOf("Provision")
	if len(provisions) != 2 || b.CallsOf("Deprovision") != nil {
		t.Fatalf("calls %v, want the unanswered provisioning repeated once and nothing deprovisioned", b.Methods())
	}
	for _, p := range provisions {
		if p.Request.InstanceID != inst.Spec.ExternalID || p.Body.(*osb.ProvisionRequest).Parameters["init-db-args"] != "--no-locale" {
			t.Errorf("provisioning %+v of instance %s: not the same request", p.Body, p.Request.InstanceID)
		}
	}
	for _, call := range b.CallsOf("LastOperation") {
		if q, ok := call.Body.(osb.OperationQuery); !ok || q.Operation != "op-1" {
			t.Errorf("last_operation polled with %#v, want operation op-1", call.Body)
		}
	}
}

// controllerManager is a kubia-controller-manager process.
type controllerManager struct{ cmd *exec.Cmd }

// startControllerManager runs binary for namespace ns (and the cluster-scoped brokers).
func startControllerManager(t *testing.T, binary, ns string) *controllerManager {
	t.Helper()
	cmd := exec.Command(binary, "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--namespace", ns)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+harness.Get(t).Cluster.KubeconfigPath())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &controllerManager{cmd: cmd}
	t.Cleanup(p.kill)
	return p
}

// kill stops the process with SIGKILL: no chance to finish anything.
func (p *controllerManager) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
