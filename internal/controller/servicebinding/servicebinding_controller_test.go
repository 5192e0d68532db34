package servicebinding_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/servicebinding"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/osb/osbtest"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

const timeout = time.Minute

// A binding waits for its instance, then writes the broker's credentials, transformed,
// into its Secret; deleting it unbinds at the broker and the Secret goes with it.
func TestBindingWritesCredentialsAndUnbinds(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	b := &osbtest.Broker{}
	osbtest.Register(t, c, ns, "binding-broker", osbtest.PostgresCatalog("bound-db"), b)
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		if call.Method == "Bind" {
			return osb.Response{Status: http.StatusCreated, Body: osb.BindingResponse{Credentials: map[string]any{
				"host": "db.example", "port": 5432, "username": "app", "password": "s3cret", "uri": "postgresql://app:s3cret@db.example:5432/app"}}}, nil
		}
		return osb.Response{}, nil
	})
	// The binding first, so it has to wait for its instance.
	binding := &sc.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: "app-binding", Namespace: ns}, Spec: sc.ServiceBindingSpec{
		InstanceRef: sc.LocalObjectReference{Name: "db"}, SecretName: "db-credentials",
		SecretTransforms: []sc.SecretTransform{
			{RenameKey: &sc.RenameKeyTransform{From: "username", To: "user"}},
			{AddKey: &sc.AddKeyTransform{Key: "address", JSONPathExpression: ptr.To("{.host}:{.port}")}},
			{AddKey: &sc.AddKeyTransform{Key: "sslmode", StringValue: ptr.To("disable")}},
			{RemoveKey: &sc.RemoveKeyTransform{Key: "uri"}},
		}}}
	if err := c.Create(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	harness.StartControllers(t, manager.Options{Namespaces: []string{ns}})
	waitCondition(t, binding, metav1.ConditionFalse, servicebinding.ReasonNonexistentInstance)
	inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: "bound-db", ClusterServicePlanName: "free"}}
	if err := c.Create(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, binding, metav1.ConditionTrue, servicebinding.ReasonInjectedBindResult)

	secret := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "db-credentials"}, secret); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"host": "db.example", "port": "5432", "user": "app", "password": "s3cret", "address": "db.example:5432", "sslmode": "disable"}
	got := map[string]string{}
	for k, v := range secret.Data {
		got[k] = string(v)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Secret data %v, want %v", got, want)
	}
	if !metav1.IsControlledBy(secret, binding) {
		t.Error("the Secret is not owned by the binding")
	}
	var bind osbtest.Call
	for _, call := range b.Calls() {
		if call.Method == "Bind" {
			bind = call
		}
	}
	if bind.Request.InstanceID != inst.Spec.ExternalID && inst.Spec.ExternalID != "" || bind.Request.BindingID == "" {
		t.Errorf("bind call %+v", bind.Request)
	}
	// The Kubernetes profile's context of a bind request.
	kubeSystem := &corev1.Namespace{}
	if err := c.Get(t.Context(), client.ObjectKey{Name: metav1.NamespaceSystem}, kubeSystem); err != nil {
		t.Fatal(err)
	}
	wantContext := map[string]any{"platform": "kubernetes", "namespace": ns, "clusterid": string(kubeSystem.UID)}
	if got := bind.Body.(*osb.BindRequest).Context; !maps.Equal(got, wantContext) {
		t.Errorf("bind context %v, want %v", got, wantContext)
	}

	if err := c.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, "the binding and its Secret are gone", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(binding), &sc.ServiceBinding{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("binding: %v", err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("secret: %v", err)
		}
		return nil
	})
	if !slices.Contains(b.Methods(), "Unbind") {
		t.Errorf("calls %v: no unbind", b.Methods())
	}
}

// notFound is a broker's 404 to last_operation: the binding being polled does not exist.
var notFound = osb.Errorf(http.StatusNotFound, "", "binding does not exist")

// An asynchronous binding polled as not found (404) has failed: Failed, saying so, and
// what the broker may hold is unbound.
func TestBindingPolledAsNotFoundFails(t *testing.T) {
	ns, b := setup(t, "vanished-bind-db")
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch call.Method {
		case "Bind":
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-bind"}}, nil
		case "BindingLastOperation":
			return osb.Response{}, notFound
		}
		return osb.Response{}, nil
	})
	binding := newBinding(t, ns, "vanished")
	harness.WaitFor(t, binding, timeout, "Failed is True/"+servicebinding.ReasonBindCallFailed, func() error {
		c := meta.FindStatusCondition(binding.Status.Conditions, sc.ConditionFailed)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != servicebinding.ReasonBindCallFailed || !strings.Contains(c.Message, "404") {
			return fmt.Errorf("conditions %+v", binding.Status.Conditions)
		}
		return nil
	})
	harness.Eventually(t, timeout, "the orphan is unbound", func(context.Context) error {
		if len(b.CallsOf("Unbind")) == 0 {
			return fmt.Errorf("calls %v", b.Methods())
		}
		return nil
	})
}

// An asynchronous unbinding polled as not found (404) is sent again; the broker's 410 to
// it (the binding does not exist) releases the binding.
func TestUnbindingPolledAsNotFoundIsSentAgain(t *testing.T) {
	ns, b := setup(t, "forgotten-bind-db")
	binding := newBinding(t, ns, "forgotten")
	waitCondition(t, binding, metav1.ConditionTrue, servicebinding.ReasonInjectedBindResult)
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch {
		case call.Method == "Unbind" && len(b.CallsOf("Unbind")) == 1:
			return osb.Response{Status: http.StatusAccepted, Body: osb.OperationResponse{Operation: "op-unbind"}}, nil
		case call.Method == "Unbind":
			return osb.Response{}, osb.Errorf(http.StatusGone, "", "binding does not exist")
		case call.Method == "BindingLastOperation":
			return osb.Response{}, notFound
		}
		return osb.Response{}, nil
	})
	c := harness.Get(t).Client
	if err := c.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, "the binding is gone", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(binding), &sc.ServiceBinding{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("binding: %v", err)
		}
		return nil
	})
	// Compacted: a reconcile reading a cache that lags may poll once more.
	var unbinding []string
	for _, m := range b.Methods() {
		if m == "Unbind" || m == "BindingLastOperation" {
			unbinding = append(unbinding, m)
		}
	}
	if !slices.Equal(slices.Compact(unbinding), []string{"Unbind", "BindingLastOperation", "Unbind"}) {
		t.Errorf("calls %v, want Unbind, BindingLastOperation (404), Unbind (410)", b.Methods())
	}
}

// setup registers a scriptable broker with a class named service, starts the controllers
// for a new namespace and provisions the instance "db" of that class.
func setup(t *testing.T, service string) (string, *osbtest.Broker) {
	t.Helper()
	ns := harness.Namespace(t)
	b := &osbtest.Broker{}
	osbtest.Register(t, harness.Get(t).Client, ns, "broker-"+service, osbtest.PostgresCatalog(service), b)
	harness.StartControllers(t, manager.Options{Namespaces: []string{ns}})
	inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		Spec: sc.ServiceInstanceSpec{ClusterServiceClassName: service, ClusterServicePlanName: "free"}}
	if err := harness.Get(t).Client.Create(t.Context(), inst); err != nil {
		t.Fatal(err)
	}
	return ns, b
}

func newBinding(t *testing.T, ns, name string) *sc.ServiceBinding {
	t.Helper()
	binding := &sc.ServiceBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sc.ServiceBindingSpec{InstanceRef: sc.LocalObjectReference{Name: "db"}}}
	if err := harness.Get(t).Client.Create(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	return binding
}

func waitCondition(t *testing.T, b *sc.ServiceBinding, status metav1.ConditionStatus, reason string) {
	t.Helper()
	harness.WaitFor(t, b, timeout, fmt.Sprintf("Ready is %s/%s", status, reason), func() error {
		c := meta.FindStatusCondition(b.Status.Conditions, sc.ConditionReady)
		if c == nil || c.Status != status || c.Reason != reason {
			return fmt.Errorf("conditions %+v", b.Status.Conditions)
		}
		return nil
	})
}
