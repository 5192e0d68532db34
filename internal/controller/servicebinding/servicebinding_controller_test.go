package servicebinding_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
