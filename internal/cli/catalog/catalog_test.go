package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/cli/catalog"
	"github.com/kubia-dev/kubia/internal/controller/serviceinstance"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/osb/osbtest"
	"github.com/kubia-dev/kubia/internal/pgbroker"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

const timeout = time.Minute

// run runs `kubia catalog args...` in namespace ns against the test cluster and returns
// its output and error.
func run(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	cmd := catalog.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	cmd.SetArgs(append(args, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath(), "--namespace", ns))
	cmd.SetOut(errOut)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(t.Context())
	t.Logf("kubia catalog %s:\n%s%s", strings.Join(args, " "), out, errOut)
	return out.String(), err
}

func mustRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := run(t, ns, args...)
	if err != nil {
		t.Fatalf("kubia catalog %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func assertContains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// Every command against the control plane, the catalog's controllers and a broker:
// marketplace, provision with parameters and --wait, bind, describe, sync, unbind and
// deprovision, with their human, wide, YAML and JSON output.
func TestCatalogCommands(t *testing.T) {
	ns := harness.Namespace(t)
	c := harness.Get(t).Client
	b := &osbtest.Broker{}
	offered := osbtest.PostgresCatalog("cli-db")
	anyObject := &osb.Schemas{}
	if err := json.Unmarshal([]byte(`{"service_instance":{"create":{"parameters":{"type":"object"}}}}`), anyObject); err != nil {
		t.Fatal(err)
	}
	offered.Services[0].Plans[0].Schemas = anyObject // the free plan takes any parameters
	broker := osbtest.Register(t, c, ns, "cli-broker", offered, b)
	b.SetAnswer(func(call osbtest.Call) (osb.Response, error) {
		switch {
		case call.Method == "Bind":
			return osb.Response{Status: http.StatusCreated, Body: osb.BindingResponse{Credentials: map[string]any{
				"host": "db.example", "username": "app", "password": "s3cret"}}}, nil
		case call.Method == "Provision" && call.Body.(*osb.ProvisionRequest).PlanID == pgbroker.PremiumPlanID+"-cli-db":
			return osb.Response{}, osb.Errorf(http.StatusBadRequest, "", "premium instances need a credit card")
		}
		return osb.Response{}, nil
	})
	harness.StartControllers(t, manager.Options{Namespaces: []string{ns}})
	harness.WaitFor(t, &sc.ClusterServicePlan{ObjectMeta: metav1.ObjectMeta{Name: "cli-db-premium"}}, timeout, "the catalog's plans exist", func() error { return nil })

	// marketplace: a table for humans, more columns with -o wide, a List with -o yaml.
	assertContains(t, mustRun(t, ns, "marketplace"), "CLASS", "PLANS", "DESCRIPTION", "cli-db", "free, premium", "A PostgreSQL database")
	assertContains(t, mustRun(t, ns, "marketplace", "-o", "wide"), "BROKER", "BINDABLE", "cli-broker", "true")
	var list struct {
		Kind  string
		Items []struct{ Kind string }
	}
	if err := yaml.Unmarshal([]byte(mustRun(t, ns, "marketplace", "-o", "yaml")), &list); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, item := range list.Items {
		kinds = append(kinds, item.Kind)
	}
	if list.Kind != "List" || !slices.Equal(kinds, []string{"ClusterServiceClass", "ClusterServicePlan", "ClusterServicePlan"}) {
		t.Errorf("-o yaml: a %s of %v, want a List of the class and its plans", list.Kind, kinds)
	}

	// provision: refuses what the marketplace does not offer and malformed parameters,
	// then creates the instance and --wait shows the progress until Ready.
	for args, want := range map[string]string{
		"provision x --class nosuch --plan free":              `no class "nosuch"`,
		"provision x --class cli-db --plan gold":              `class "cli-db" has no plan "gold"`,
		"provision x --class cli-db":                          "--class and --plan are required",
		"provision x --class cli-db --plan free --param size": `--param "size" must be key=value`,
		"provision x --class cli-db --plan free -o table":     "--output must be wide, yaml or json",
		"describe instance nosuch":                            "not found",
		"bind nosuch":                                         `no ServiceInstance "nosuch"`,
		"unbind":                                              "give either an instance or --name of a binding",
	} {
		if _, err := run(t, ns, strings.Fields(args)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("kubia catalog %s: error %v, want %q", args, err, want)
		}
	}
	out := mustRun(t, ns, "provision", "db", "--class", "cli-db", "--plan", "free",
		"--param", "init-db-args=--data-checksums", "--params-json", `{"size":2}`, "--wait")
	assertContains(t, out, "ServiceInstance "+ns+"/db created", "Waiting for", "ProvisionedSuccessfully: The instance was provisioned successfully",
		"Status:", "Ready - ProvisionedSuccessfully", "Class:", "cli-db", "Plan:", "free")
	provisions := b.CallsOf("Provision")
	if len(provisions) != 1 {
		t.Fatalf("%d provisions", len(provisions))
	}
	if got := provisions[0].Body.(*osb.ProvisionRequest).Parameters; got["init-db-args"] != "--data-checksums" || got["size"] != float64(2) {
		t.Errorf("the broker got parameters %v", got)
	}

	// A plan the broker refuses: --wait ends with the broker's description.
	out, err := run(t, ns, "provision", "big", "--class", "cli-db", "--plan", "premium", "--wait")
	if err == nil || !strings.Contains(err.Error(), "premium instances need a credit card") || !strings.Contains(err.Error(), "failed") {
		t.Errorf("provisioning refused by the broker: %v", err)
	}
	assertContains(t, out, "ServiceInstance "+ns+"/big created", "ProvisionCallFailed: broker answered 400")

	// bind: the credentials land in the Secret; describe shows its keys, never values.
	out = mustRun(t, ns, "bind", "db", "--secret-name", "db-creds", "--wait")
	assertContains(t, out, "ServiceBinding "+ns+"/db created", "InjectedBindResult", "Instance:", "Secret:", "db-creds (keys: host, password, username)")
	if strings.Contains(out, "s3cret") {
		t.Errorf("bind printed the password:\n%s", out)
	}
	secret := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "db-creds"}, secret); err != nil || string(secret.Data["password"]) != "s3cret" {
		t.Fatalf("Secret db-creds: %v %v", err, secret.Data)
	}

	// describe: human, wide (identifiers and conditions), JSON (the object).
	assertContains(t, mustRun(t, ns, "describe", "instance", "db"), "Bindings:", "db (Ready)", `{"init-db-args":"--data-checksums","size":2}`)
	assertContains(t, mustRun(t, ns, "describe", "instance", "db", "-o", "wide"), "External ID:", "Provision status:", "Provisioned", "Conditions:", "TYPE", "Failed")
	inst := &sc.ServiceInstance{}
	if err := json.Unmarshal([]byte(mustRun(t, ns, "describe", "instance", "db", "-o", "json")), inst); err != nil || inst.Kind != "ServiceInstance" || inst.Spec.ExternalID == "" {
		t.Errorf("describe -o json: %v %+v", err, inst)
	}
	binding := &sc.ServiceBinding{}
	if err := yaml.Unmarshal([]byte(mustRun(t, ns, "describe", "binding", "db", "-o", "yaml")), binding); err != nil || binding.Spec.SecretName != "db-creds" {
		t.Errorf("describe binding -o yaml: %v %+v", err, binding)
	}

	// sync broker: raises relistRequests, which the broker's controller answers with a
	// fetch (a new generation it has not observed is always fetched).
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(broker), broker); err != nil {
		t.Fatal(err)
	}
	generation := broker.Generation
	assertContains(t, mustRun(t, ns, "sync", "broker", "cli-broker"), "Relist of ClusterServiceBroker cli-broker requested (relistRequests 1)")
	harness.WaitFor(t, broker, timeout, "the catalog is fetched again", func() error {
		if broker.Generation != generation+1 || broker.Status.ObservedGeneration != broker.Generation ||
			!meta.IsStatusConditionTrue(broker.Status.Conditions, sc.ConditionReady) {
			return fmt.Errorf("generation %d, observed %d", broker.Generation, broker.Status.ObservedGeneration)
		}
		return nil
	})

	// deprovision is blocked while bindings exist: --wait shows why until it gives up.
	out, err = run(t, ns, "deprovision", "db", "--wait", "--timeout", "10s")
	if err == nil || !strings.Contains(err.Error(), "gave up after 10s") {
		t.Errorf("deprovisioning with a binding: %v", err)
	}
	assertContains(t, out, "ServiceInstance "+ns+"/db deleted", serviceinstance.ReasonDeprovisionBlocked)
	assertContains(t, mustRun(t, ns, "describe", "instance", "db"), "Deleting - "+serviceinstance.ReasonDeprovisionBlocked)
	// unbind --wait returns once the broker has unbound; then the deprovisioning goes on.
	assertContains(t, mustRun(t, ns, "unbind", "db", "--wait"), "ServiceBinding "+ns+"/db deleted", "Waiting for")
	if got := b.CallsOf("Unbind"); len(got) != 1 {
		t.Errorf("%d unbind calls", len(got))
	}
	harness.Eventually(t, timeout, "the instance is deprovisioned", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(inst), inst); !apierrors.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		return nil
	})
	if got := b.CallsOf("Deprovision"); len(got) != 1 {
		t.Errorf("%d deprovision calls", len(got))
	}
	if _, err := run(t, ns, "deprovision", "db"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("deprovisioning a deleted instance: %v", err)
	}

	// deprovision --wait of an unbound instance returns once the broker is done.
	mustRun(t, ns, "provision", "short-lived", "--class", "cli-db", "--plan", "free", "--wait")
	assertContains(t, mustRun(t, ns, "deprovision", "short-lived", "--wait"), "Waiting for ServiceInstance "+ns+"/short-lived to be deleted")
	if got := b.CallsOf("Deprovision"); len(got) != 2 {
		t.Errorf("%d deprovision calls", len(got))
	}
}
