package pgbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/test/harness"
)

// These tests run the broker against the real control plane without a node: servers
// never start, so provisioning stays in progress, which is what the error rows need.
func TestMain(m *testing.M) { harness.Main(m) }

var testCreds = osb.Credentials{Username: "broker", Password: "test-password"}

// osbClient speaks to a broker like a platform would.
type osbClient struct {
	t   *testing.T
	url string
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

func (c osbClient) do(method, path string, body any) reply {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(testCreds.Username, testCreds.Password)
	req.Header.Set(osb.HeaderAPIVersion, "2.17")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(data, &r.body); err != nil {
		c.t.Fatalf("%s %s: body is not a JSON object: %s", method, path, data)
	}
	return r
}

// in is the client reporting to t (a subtest), whose failures must end t, not its parent.
func (c osbClient) in(t *testing.T) osbClient {
	c.t = t
	return c
}

// expect checks a reply's status and, for errors, that the description mentions want.
func (c osbClient) expect(r reply, status int, want string) reply {
	c.t.Helper()
	if r.status != status || !strings.Contains(fmt.Sprint(r.body), want) {
		c.t.Fatalf("got %d %v, want %d mentioning %q", r.status, r.body, status, want)
	}
	return r
}

type testBroker struct {
	osbClient
	broker *Broker
	ns     string
}

func newTestBroker(t *testing.T) testBroker {
	t.Helper()
	ns := harness.Namespace(t)
	broker := New(harness.Get(t).Client, Options{Namespace: ns, Image: "localhost/kubia/postgres:local", ClusterDomain: "cluster.local"}, testr.New(t))
	handler, err := broker.Handler(testCreds)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return testBroker{osbClient: osbClient{t: t, url: server.URL}, broker: broker, ns: ns}
}

// The platform's ids in provision requests: its cluster's, and the namespace's.
const testOrganizationGUID, testSpaceGUID = "cluster-uid", "namespace-uid"

func provisionBody(planID string, params map[string]any) map[string]any {
	return map[string]any{"service_id": ServiceID, "plan_id": planID, "parameters": params,
		"organization_guid": testOrganizationGUID, "space_guid": testSpaceGUID,
		"context": map[string]any{"platform": "kubernetes", "namespace": "default", "clusterid": testOrganizationGUID}}
}

// with is body with key set to value, or removed when value is nil.
func with(body map[string]any, key string, value any) map[string]any {
	out := maps.Clone(body)
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

const instancePath = "/v2/service_instances/"

func TestProvisionCreatesServerAndRepeatsIdempotently(t *testing.T) {
	b := newTestBroker(t)
	path := instancePath + "db-1?accepts_incomplete=true"
	params := map[string]any{"init-db-args": "--data-checksums"}
	first := b.expect(b.do("PUT", path, provisionBody(FreePlanID, params)), http.StatusAccepted, "operation")
	op := first.str("operation")

	// An identical repeat while in progress: 202 with the same operation.
	again := b.expect(b.do("PUT", path, provisionBody(FreePlanID, params)), http.StatusAccepted, op)
	if again.str("operation") != op {
		t.Errorf("repeat answered operation %q, want %q", again.str("operation"), op)
	}
	// Other attributes: 409 naming them, and the record is untouched.
	record := b.record("db-1")
	conflicts := []struct {
		name string
		body map[string]any
	}{
		{"plan_id", provisionBody(PremiumPlanID, params)},
		{"parameters", provisionBody(FreePlanID, nil)},
		{"organization_guid", with(provisionBody(FreePlanID, params), "organization_guid", "another-cluster")},
		{"space_guid", with(provisionBody(FreePlanID, params), "space_guid", "another-namespace")},
	}
	for _, tt := range conflicts {
		t.Run("other "+tt.name, func(t *testing.T) {
			c := b.in(t)
			c.expect(c.do("PUT", path, tt.body), http.StatusConflict, "other attributes: "+tt.name)
		})
	}
	if after := b.record("db-1"); after.ResourceVersion != record.ResourceVersion {
		t.Error("a refused request changed the record")
	}

	// The server: a StatefulSet and Service owned by the record, initdb flags passed on.
	sts := &appsv1.StatefulSet{}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: b.ns, Name: serverName("db-1", plans[FreePlanID])}, sts); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(sts, record) {
		t.Error("the StatefulSet is not owned by the instance's record")
	}
	env := sts.Spec.Template.Spec.Containers[0].Env
	if len(env) != 2 || env[1].Name != "POSTGRES_INITDB_ARGS" || env[1].Value != "--data-checksums" {
		t.Errorf("server environment %+v", env)
	}
	if err := harness.Get(t).Client.Get(t.Context(), client.ObjectKey{Namespace: b.ns, Name: instanceName("db-1")}, &corev1.Service{}); err != nil {
		t.Fatal(err)
	}

	// Polling: in progress, with Retry-After, while the server cannot start (no node).
	last := b.expect(b.do("GET", instancePath+"db-1/last_operation?operation="+op+"&service_id="+ServiceID+"&plan_id="+FreePlanID, nil), http.StatusOK, "in progress")
	if last.header.Get("Retry-After") == "" {
		t.Error("no Retry-After while in progress")
	}
	b.expect(b.do("GET", instancePath+"db-1/last_operation?operation=other", nil), http.StatusBadRequest, "not instance db-1's last operation")
	// Not provisioned yet: no fetch, no binding, no update.
	b.expect(b.do("GET", instancePath+"db-1", nil), http.StatusNotFound, "not provisioned")
	b.expect(b.do("PUT", instancePath+"db-1/service_bindings/b-1", map[string]any{"service_id": ServiceID, "plan_id": FreePlanID}),
		http.StatusUnprocessableEntity, osb.ErrConcurrencyError)
	b.expect(b.do("PATCH", instancePath+"db-1?accepts_incomplete=true", map[string]any{"service_id": ServiceID, "plan_id": PremiumPlanID}),
		http.StatusUnprocessableEntity, osb.ErrConcurrencyError)

	// The broker keeps no state: another one answers the same.
	other := New(harness.Get(t).Client, Options{Namespace: b.ns, Image: "x", ClusterDomain: "cluster.local"}, testr.New(t))
	resp, err := other.Provision(t.Context(), &osb.Request{InstanceID: "db-1", AcceptsIncomplete: true},
		&osb.ProvisionRequest{ServiceID: ServiceID, PlanID: FreePlanID, Parameters: params,
			OrganizationGUID: testOrganizationGUID, SpaceGUID: testSpaceGUID})
	if err != nil || resp.Status != http.StatusAccepted || resp.Body.(osb.OperationResponse).Operation != op {
		t.Errorf("a second broker answered %+v, %v", resp, err)
	}
}

func TestRefusedProvisionsCreateNothing(t *testing.T) {
	b := newTestBroker(t)
	tests := []struct {
		name, query string
		body        map[string]any
		status      int
		want        string
	}{
		{"without accepts_incomplete", "", provisionBody(FreePlanID, nil), http.StatusUnprocessableEntity, osb.ErrAsyncRequired},
		{"accepts_incomplete=false", "?accepts_incomplete=false", provisionBody(FreePlanID, nil), http.StatusUnprocessableEntity, osb.ErrAsyncRequired},
		{"initdb flag not allowed", "?accepts_incomplete=true", provisionBody(FreePlanID, map[string]any{"init-db-args": "--data-checksums --auth=trust"}), http.StatusBadRequest, "--auth=trust"},
		{"locale with a quote", "?accepts_incomplete=true", provisionBody(FreePlanID, map[string]any{"init-db-args": "--locale=x'y"}), http.StatusBadRequest, "--locale=x'y"},
		{"parameter not in the schema", "?accepts_incomplete=true", provisionBody(FreePlanID, map[string]any{"size": 3}), http.StatusBadRequest, "size"},
		{"init-db-args not a string", "?accepts_incomplete=true", provisionBody(FreePlanID, map[string]any{"init-db-args": 3}), http.StatusBadRequest, "init-db-args"},
		{"unknown plan", "?accepts_incomplete=true", provisionBody("nope", nil), http.StatusBadRequest, "nope"},
		{"without organization_guid", "?accepts_incomplete=true", with(provisionBody(FreePlanID, nil), "organization_guid", nil), http.StatusBadRequest, "organization_guid is required"},
		{"empty organization_guid", "?accepts_incomplete=true", with(provisionBody(FreePlanID, nil), "organization_guid", ""), http.StatusBadRequest, "organization_guid is required"},
		{"without space_guid", "?accepts_incomplete=true", with(provisionBody(FreePlanID, nil), "space_guid", nil), http.StatusBadRequest, "space_guid is required"},
		{"empty space_guid", "?accepts_incomplete=true", with(provisionBody(FreePlanID, nil), "space_guid", ""), http.StatusBadRequest, "space_guid is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := b.in(t)
			c.expect(c.do("PUT", instancePath+"refused"+tt.query, tt.body), tt.status, tt.want)
		})
	}
	var secrets corev1.SecretList
	if err := harness.Get(t).Client.List(t.Context(), &secrets, client.InNamespace(b.ns), client.MatchingLabels{LabelManagedBy: managedBy}); err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) > 0 {
		t.Errorf("refused requests left %d records", len(secrets.Items))
	}
}

// A DELETE during provisioning stops it: the provisioning reports failure, the
// deprovisioning succeeds once everything is gone, and the instance is gone afterwards.
func TestDeprovisionDuringProvisioning(t *testing.T) {
	b := newTestBroker(t)
	provisionOp := b.expect(b.do("PUT", instancePath+"db-2?accepts_incomplete=true", provisionBody(PremiumPlanID, nil)), http.StatusAccepted, "").str("operation")
	deleteQuery := "?service_id=" + ServiceID + "&plan_id=" + PremiumPlanID
	b.expect(b.do("DELETE", instancePath+"db-2"+deleteQuery, nil), http.StatusUnprocessableEntity, osb.ErrAsyncRequired)
	deleteOp := b.expect(b.do("DELETE", instancePath+"db-2"+deleteQuery+"&accepts_incomplete=true", nil), http.StatusAccepted, "").str("operation")
	if deleteOp == provisionOp || deleteOp == "" {
		t.Fatalf("deprovision operation %q", deleteOp)
	}
	// A repeated DELETE while it runs: the same operation.
	if again := b.do("DELETE", instancePath+"db-2"+deleteQuery+"&accepts_incomplete=true", nil); again.status == http.StatusAccepted && again.str("operation") != deleteOp {
		t.Errorf("repeated DELETE answered operation %q, want %q", again.str("operation"), deleteOp)
	}
	b.expect(b.do("GET", instancePath+"db-2/last_operation?operation="+provisionOp, nil), http.StatusOK, "Interrupted")

	harness.Eventually(t, 2*time.Minute, "the deprovisioning succeeded", func(ctx context.Context) error {
		r := b.do("GET", instancePath+"db-2/last_operation?operation="+deleteOp, nil)
		if r.status != http.StatusOK || r.str("state") != osb.StateSucceeded {
			return fmt.Errorf("%d %v", r.status, r.body)
		}
		return nil
	})
	if left, err := b.broker.leftovers(t.Context(), "db-2"); err != nil || left != "" {
		t.Errorf("left after deprovisioning: %q %v", left, err)
	}
	// What answers for the deprovisioned instance (its tombstone lasting) and for one
	// that never existed: the specification's 410 for what is gone, 404 for fetching or
	// polling what does not exist.
	bindBody := map[string]any{"service_id": ServiceID, "plan_id": PremiumPlanID}
	tests := []struct {
		name, method, path string
		body               map[string]any
		status             int
		want               string
	}{
		{"deprovisioned: DELETE", "DELETE", "db-2" + deleteQuery + "&accepts_incomplete=true", nil, http.StatusGone, "does not exist"},
		{"deprovisioned: GET", "GET", "db-2", nil, http.StatusNotFound, "does not exist"},
		{"deprovisioned: bind", "PUT", "db-2/service_bindings/b", bindBody, http.StatusGone, "does not exist"},
		{"deprovisioned: its deprovisioning polled", "GET", "db-2/last_operation?operation=" + deleteOp, nil, http.StatusOK, osb.StateSucceeded},
		{"deprovisioned: another operation polled", "GET", "db-2/last_operation?operation=unknown", nil, http.StatusGone, "was deprovisioned"},
		{"deprovisioned: polled without operation", "GET", "db-2/last_operation", nil, http.StatusBadRequest, "operation is required"},
		{"never existed: polled", "GET", "never/last_operation?operation=x", nil, http.StatusNotFound, "does not exist"},
		{"never existed: binding polled", "GET", "never/service_bindings/b/last_operation", nil, http.StatusNotFound, "does not exist"},
		{"never existed: unbind", "DELETE", "never/service_bindings/b" + deleteQuery, nil, http.StatusGone, "does not exist"},
		{"never existed: binding fetched", "GET", "never/service_bindings/b", nil, http.StatusNotFound, "does not exist"},
		{"never existed: update", "PATCH", "never?accepts_incomplete=true", map[string]any{"service_id": ServiceID}, http.StatusGone, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := b.in(t)
			c.expect(c.do(tt.method, instancePath+tt.path, tt.body), tt.status, tt.want)
		})
	}
}

// A record written before the broker recorded organization_guid and space_guid has
// nothing to compare them with: repeats match whatever they say, and change nothing;
// the other attributes still count.
func TestRepeatedProvisionOfRecordWithoutGUIDs(t *testing.T) {
	b := newTestBroker(t)
	path := instancePath + "old-db?accepts_incomplete=true"
	op := b.expect(b.do("PUT", path, provisionBody(FreePlanID, nil)), http.StatusAccepted, "operation").str("operation")
	record := b.record("old-db")
	delete(record.Annotations, annOrganizationGUID)
	delete(record.Annotations, annSpaceGUID)
	if err := harness.Get(t).Client.Update(t.Context(), record); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"the same ids", provisionBody(FreePlanID, nil), http.StatusAccepted, op},
		{"other ids", with(with(provisionBody(FreePlanID, nil), "organization_guid", "another-cluster"), "space_guid", "another-namespace"), http.StatusAccepted, op},
		{"another plan", provisionBody(PremiumPlanID, nil), http.StatusConflict, "other attributes: plan_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := b.in(t)
			c.expect(c.do("PUT", path, tt.body), tt.status, tt.want)
		})
	}
	after := b.record("old-db")
	if after.ResourceVersion != record.ResourceVersion {
		t.Error("a repeated provisioning changed the record")
	}
	if _, ok := after.Annotations[annSpaceGUID]; ok {
		t.Error("a repeat recorded a space_guid the first provisioning did not")
	}
}

func (b testBroker) record(instanceID string) *corev1.Secret {
	b.t.Helper()
	secret := &corev1.Secret{}
	if err := harness.Get(b.t).Client.Get(b.t.Context(), client.ObjectKey{Namespace: b.ns, Name: instanceName(instanceID)}, secret); err != nil {
		b.t.Fatal(err)
	}
	return secret
}
