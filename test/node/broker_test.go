package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/pgbroker"
	"github.com/kubia-dev/kubia/test/harness"
)

var brokerCreds = osb.Credentials{Username: "platform", Password: "node-test-password"}

// brokerClient calls a kubia-broker like a platform.
type brokerClient struct {
	t     testing.TB
	url   string
	creds osb.Credentials
}

func (c brokerClient) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.creds.Username, c.creds.Password)
	req.Header.Set(osb.HeaderAPIVersion, "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s %s: %d with a body that is not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func (c brokerClient) must(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	got, out := c.call(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, status)
	}
	return out
}

// waitOperation polls last_operation until it leaves "in progress" and returns the state.
func (c brokerClient) waitOperation(path, operation string, timeout time.Duration) (string, string) {
	c.t.Helper()
	var state, description string
	harness.Eventually(c.t, timeout, "operation "+operation+" finished", func(context.Context) error {
		out := c.must(http.StatusOK, "GET", path+"/last_operation?operation="+operation, nil)
		state, _ = out["state"].(string)
		description, _ = out["description"].(string)
		if state == osb.StateInProgress {
			return fmt.Errorf("in progress: %s", description)
		}
		return nil
	})
	return state, description
}

// provisionBody is a provisioning's body for a plan with parameters (nil: none), with
// the organization_guid and space_guid v2.17 requires of a platform.
func provisionBody(planID string, params map[string]any) map[string]any {
	body := map[string]any{"service_id": pgbroker.ServiceID, "plan_id": planID,
		"organization_guid": "node-test-cluster", "space_guid": "node-test-namespace"}
	if params != nil {
		body["parameters"] = params
	}
	return body
}

// provision PUTs an instance and waits until its provisioning succeeded.
func (c brokerClient) provision(inst string, body map[string]any) {
	c.t.Helper()
	if err := c.provisionErr(inst, body); err != nil {
		c.t.Fatal(err)
	}
}

// provisionErr is provision for goroutines, which may not end the test.
func (c brokerClient) provisionErr(inst string, body map[string]any) error {
	status, out := c.call("PUT", inst+"?accepts_incomplete=true", body)
	op, _ := out["operation"].(string)
	if status != http.StatusAccepted || op == "" {
		return fmt.Errorf("PUT %s: %d %v", inst, status, out)
	}
	if state, desc := c.waitOperation(inst, op, 5*time.Minute); state != osb.StateSucceeded {
		return fmt.Errorf("provisioning %s %s: %s", inst, state, desc)
	}
	return nil
}

// deprovision DELETEs an instance (ids: its service_id and plan_id query) and waits
// until its deprovisioning succeeded.
func (c brokerClient) deprovision(inst, ids string) {
	c.t.Helper()
	op := c.must(http.StatusAccepted, "DELETE", inst+"?accepts_incomplete=true&"+ids, nil)["operation"].(string)
	if state, desc := c.waitOperation(inst, op, 5*time.Minute); state != osb.StateSucceeded {
		c.t.Fatalf("deprovisioning %s %s: %s", inst, state, desc)
	}
}

// startBroker runs kubia-broker's handler and resync loop in this process, managing
// servers in a namespace of the test.
func startBroker(t testing.TB) (brokerClient, string) {
	t.Helper()
	ns := harness.Namespace(t)
	b := pgbroker.New(harness.Get(t).Client, pgbroker.Options{Namespace: ns, Image: images.Ref("postgres"), ClusterDomain: "cluster.local"}, testr.NewWithInterface(t, testr.Options{}))
	handler, err := b.Handler(brokerCreds)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx, time.Second) }()
	t.Cleanup(func() { cancel(); <-done; server.Close() })
	return brokerClient{t: t, url: server.URL, creds: brokerCreds}, ns
}

// connect logs in to an instance with a binding's credentials, through the instance
// Service's cluster IP (the test runs on the node's host, outside the cluster's DNS).
func connect(ctx context.Context, t *testing.T, ns string, creds map[string]any) (*pgx.Conn, error) {
	t.Helper()
	host, _ := creds["host"].(string)
	svc := &corev1.Service{}
	name := host[:len(host)-len("."+ns+".svc.cluster.local")]
	if err := harness.Get(t).Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		t.Fatalf("the Service of host %s: %v", host, err)
	}
	// The URI with the host replaced before parsing: pgx would otherwise also try the
	// DNS name, which only the cluster's DNS knows.
	uri, err := url.Parse(creds["uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	uri.Host = net.JoinHostPort(svc.Spec.ClusterIP, uri.Port())
	uri.RawQuery = "sslmode=disable&connect_timeout=5"
	return pgx.Connect(ctx, uri.String())
}

// The whole life of a free instance on the node: provisioned with the book's
// init-db-args, bound twice (different credentials, shared tables), unbound (the
// credentials stop working, the data stays), deprovisioned (everything gone, 410 after).
func TestBrokerProvisionsBindsAndDeprovisionsPostgres(t *testing.T) {
	harness.RequireNode(t)
	c, ns := startBroker(t)
	const inst = "/v2/service_instances/book-db"
	ids := "service_id=" + pgbroker.ServiceID + "&plan_id=" + pgbroker.FreePlanID
	began := time.Now()
	c.provision(inst, provisionBody(pgbroker.FreePlanID, map[string]any{"init-db-args": "--data-checksums"}))
	t.Logf("provisioned in %s", time.Since(began).Round(time.Millisecond))
	c.must(http.StatusOK, "PUT", inst+"?accepts_incomplete=true", provisionBody(pgbroker.FreePlanID, map[string]any{"init-db-args": "--data-checksums"}))
	fetched := c.must(http.StatusOK, "GET", inst, nil)
	if fetched["plan_id"] != pgbroker.FreePlanID {
		t.Errorf("fetched instance %v", fetched)
	}

	bindBody := map[string]any{"service_id": pgbroker.ServiceID, "plan_id": pgbroker.FreePlanID, "app_guid": "app-a"}
	first := c.must(http.StatusCreated, "PUT", inst+"/service_bindings/app-1", bindBody)["credentials"].(map[string]any)
	for _, key := range []string{"host", "port", "database", "username", "password", "uri"} {
		if _, ok := first[key]; !ok {
			t.Errorf("credentials lack %s: %v", key, first)
		}
	}
	conn, err := connect(t.Context(), t, ns, first)
	if err != nil {
		t.Fatalf("connecting with the first binding: %v", err)
	}
	var checksums string
	if err := conn.QueryRow(t.Context(), "SHOW data_checksums").Scan(&checksums); err != nil || checksums != "on" {
		t.Errorf("data_checksums %q (%v): init-db-args did not reach initdb", checksums, err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE visits (at timestamptz); INSERT INTO visits VALUES (now())"); err != nil {
		t.Fatalf("the first binding cannot create a table: %v", err)
	}
	_ = conn.Close(t.Context())

	second := c.must(http.StatusCreated, "PUT", inst+"/service_bindings/app-2", bindBody)["credentials"].(map[string]any)
	if second["username"] == first["username"] || second["password"] == first["password"] {
		t.Errorf("two bindings share credentials: %v / %v", first["username"], second["username"])
	}
	repeated := c.must(http.StatusOK, "PUT", inst+"/service_bindings/app-1", bindBody)["credentials"].(map[string]any)
	if repeated["password"] != first["password"] {
		t.Error("a repeated bind changed the credentials")
	}
	if got := c.must(http.StatusOK, "GET", inst+"/service_bindings/app-1", nil)["credentials"].(map[string]any); got["password"] != first["password"] {
		t.Error("the fetched binding has other credentials")
	}
	c.must(http.StatusConflict, "PUT", inst+"/service_bindings/app-1", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.FreePlanID, "app_guid": "app-b"})

	// Unbinding the first: its sessions end, its credentials stop working, the table stays.
	open, err := connect(t.Context(), t, ns, first)
	if err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusOK, "DELETE", inst+"/service_bindings/app-1?"+ids, nil)
	if err := open.Ping(t.Context()); err == nil {
		t.Error("the unbound role's open session survived")
	}
	if conn, err := connect(t.Context(), t, ns, first); err == nil {
		_ = conn.Close(t.Context())
		t.Error("the unbound credentials still log in")
	}
	c.must(http.StatusGone, "DELETE", inst+"/service_bindings/app-1?"+ids, nil)
	conn, err = connect(t.Context(), t, ns, second)
	if err != nil {
		t.Fatalf("connecting with the second binding: %v", err)
	}
	var rows int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM visits").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("the second binding reads %d rows of the first's table (%v)", rows, err)
	}
	_ = conn.Close(t.Context())

	// Deprovisioning removes everything; afterwards the instance is gone.
	c.deprovision(inst, ids)
	for _, list := range []client.ObjectList{&corev1.PodList{}, &corev1.SecretList{}, &corev1.ServiceList{}, &corev1.PersistentVolumeClaimList{}} {
		if err := harness.Get(t).Client.List(t.Context(), list, client.InNamespace(ns), client.MatchingLabels{pgbroker.LabelManagedBy: "kubia-broker"}); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(list); n > 0 {
			t.Errorf("%T: %d left after deprovisioning", list, n)
		}
	}
	c.must(http.StatusGone, "DELETE", inst+"?accepts_incomplete=true&"+ids, nil)
	c.must(http.StatusNotFound, "GET", inst, nil)
	c.must(http.StatusGone, "PUT", inst+"/service_bindings/app-3", bindBody)
}

// brokerProcess runs the kubia-broker binary against the test cluster.
type brokerProcess struct {
	t      *testing.T
	binary string
	ns     string
	addr   string
	cmd    *exec.Cmd
}

func buildBroker(t *testing.T, ns string) *brokerProcess {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "kubia-broker")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/kubia-dev/kubia/cmd/kubia-broker").CombinedOutput(); err != nil {
		t.Fatalf("building kubia-broker: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := &brokerProcess{t: t, binary: binary, ns: ns, addr: addr}
	t.Cleanup(func() { p.kill() })
	return p
}

// start runs the broker and waits until it answers.
func (p *brokerProcess) start() brokerClient {
	p.t.Helper()
	p.cmd = exec.Command(p.binary, "--listen", p.addr, "--namespace", p.ns, "--postgres-image", images.Ref("postgres"), "--resync", "1s")
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+harness.Get(p.t).Cluster.KubeconfigPath(),
		"KUBIA_BROKER_USERNAME="+brokerCreds.Username, "KUBIA_BROKER_PASSWORD="+brokerCreds.Password)
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	harness.Eventually(p.t, 30*time.Second, "kubia-broker answers", func(ctx context.Context) error {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return brokerClient{t: p.t, url: "http://" + p.addr, creds: brokerCreds}
}

// kill stops the broker with SIGKILL: no chance to finish anything.
func (p *brokerProcess) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// A broker killed right after accepting a provisioning or a deprovisioning: the next
// one finishes the operation on its own (without being polled), and nothing is left
// twice or behind.
func TestKilledBrokerResumesOperations(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	p := buildBroker(t, ns)
	c := p.start()
	const inst = "/v2/service_instances/resumed"
	ids := "service_id=" + pgbroker.ServiceID + "&plan_id=" + pgbroker.FreePlanID
	op := c.must(http.StatusAccepted, "PUT", inst+"?accepts_incomplete=true", provisionBody(pgbroker.FreePlanID, nil))["operation"].(string)
	p.kill()
	c = p.start()
	record := &corev1.Secret{}
	harness.Eventually(t, 3*time.Minute, "the restarted broker finished provisioning unpolled", func(ctx context.Context) error {
		var records corev1.SecretList
		if err := harness.Get(t).Client.List(ctx, &records, client.InNamespace(ns), client.MatchingLabels{"osb.kubia.dev/record": "instance"}); err != nil {
			return err
		}
		if len(records.Items) != 1 {
			return fmt.Errorf("%d instance records", len(records.Items))
		}
		*record = records.Items[0]
		if op := record.Annotations["osb.kubia.dev/operation"]; !strings.Contains(op, `"state":"succeeded"`) {
			return fmt.Errorf("operation %s", op)
		}
		return nil
	})
	if state, desc := c.waitOperation(inst, op, time.Minute); state != osb.StateSucceeded {
		t.Fatalf("provisioning %s: %s", state, desc)
	}
	assertObjects(t, ns, 1)

	delOp := c.must(http.StatusAccepted, "DELETE", inst+"?accepts_incomplete=true&"+ids, nil)["operation"].(string)
	p.kill()
	c = p.start()
	if state, desc := c.waitOperation(inst, delOp, 3*time.Minute); state != osb.StateSucceeded {
		t.Fatalf("deprovisioning %s: %s", state, desc)
	}
	assertObjects(t, ns, 0)
}

// assertObjects checks that the broker's namespace holds want of each kind of an
// instance's objects: record, StatefulSet, Service, server pod.
func assertObjects(t *testing.T, ns string, want int) {
	t.Helper()
	lists := map[string]client.ObjectList{
		"instance records": &corev1.SecretList{}, "StatefulSets": &appsv1.StatefulSetList{},
		"Services": &corev1.ServiceList{}, "pods": &corev1.PodList{},
	}
	for what, list := range lists {
		if err := harness.Get(t).Client.List(t.Context(), list, client.InNamespace(ns), client.MatchingLabels{pgbroker.LabelManagedBy: "kubia-broker"}); err != nil {
			t.Fatal(err)
		}
		n := meta.LenList(list)
		if n != want {
			t.Errorf("%d %s, want %d", n, what, want)
		}
	}
}

// A premium instance keeps its data on a volume of the node's StorageClass: the server's
// pod replaced, the table is still there; deprovisioned, the volume and its directory go.
func TestBrokerPremiumPlanKeepsDataOnVolume(t *testing.T) {
	harness.RequireNode(t)
	c, ns := startBroker(t)
	const inst = "/v2/service_instances/premium-db"
	ids := "service_id=" + pgbroker.ServiceID + "&plan_id=" + pgbroker.PremiumPlanID
	c.provision(inst, provisionBody(pgbroker.PremiumPlanID, nil))
	creds := c.must(http.StatusCreated, "PUT", inst+"/service_bindings/app", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID})["credentials"].(map[string]any)
	conn, err := connect(t.Context(), t, ns, creds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(t.Context())

	c2 := harness.Get(t).Client
	var claims corev1.PersistentVolumeClaimList
	if err := c2.List(t.Context(), &claims, client.InNamespace(ns)); err != nil || len(claims.Items) != 1 {
		t.Fatalf("%d claims (%v)", len(claims.Items), err)
	}
	pvName := claims.Items[0].Spec.VolumeName
	pv := &corev1.PersistentVolume{}
	if err := c2.Get(t.Context(), client.ObjectKey{Name: pvName}, pv); err != nil {
		t.Fatal(err)
	}
	if pv.Spec.StorageClassName != localcluster.StorageClassName || pv.Spec.HostPath == nil {
		t.Fatalf("volume %s: class %q, source %+v", pvName, pv.Spec.StorageClassName, pv.Spec.PersistentVolumeSource)
	}

	var pods corev1.PodList
	if err := c2.List(t.Context(), &pods, client.InNamespace(ns), client.MatchingLabels{pgbroker.LabelManagedBy: "kubia-broker"}); err != nil || len(pods.Items) != 1 {
		t.Fatalf("%d server pods (%v)", len(pods.Items), err)
	}
	if err := c2.Delete(t.Context(), &pods.Items[0]); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 3*time.Minute, "the replaced server serves the kept table", func(ctx context.Context) error {
		conn, err := connect(ctx, t, ns, creds)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var x int
		if err := conn.QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
			return fmt.Errorf("x=%d: %v", x, err)
		}
		return nil
	})

	c.must(http.StatusOK, "DELETE", inst+"/service_bindings/app?"+ids, nil)
	c.deprovision(inst, ids)
	harness.Eventually(t, time.Minute, "the volume and its directory are gone", func(ctx context.Context) error {
		err := c2.Get(ctx, client.ObjectKey{Name: pvName}, &corev1.PersistentVolume{})
		if err == nil {
			return fmt.Errorf("volume %s exists", pvName)
		}
		if _, statErr := os.Stat(pv.Spec.HostPath.Path); !os.IsNotExist(statErr) {
			return fmt.Errorf("directory %s: %v", pv.Spec.HostPath.Path, statErr)
		}
		return client.IgnoreNotFound(err)
	})
}

// Moving a free instance to the premium plan copies its data (and its bindings' roles)
// to a premium server on a volume; the binding's credentials keep working.
func TestBrokerMovesInstanceToPremium(t *testing.T) {
	harness.RequireNode(t)
	c, ns := startBroker(t)
	const inst = "/v2/service_instances/growing-db"
	c.provision(inst, provisionBody(pgbroker.FreePlanID, map[string]any{"init-db-args": "--data-checksums"}))
	creds := c.must(http.StatusCreated, "PUT", inst+"/service_bindings/app", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.FreePlanID})["credentials"].(map[string]any)
	conn, err := connect(t.Context(), t, ns, creds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 1000)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(t.Context())

	c.must(http.StatusUnprocessableEntity, "PATCH", inst, map[string]any{"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID})
	c.must(http.StatusBadRequest, "PATCH", inst+"?accepts_incomplete=true", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID, "parameters": map[string]any{"init-db-args": "--no-locale"}})
	began := time.Now()
	op := c.must(http.StatusAccepted, "PATCH", inst+"?accepts_incomplete=true", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID,
		"previous_values": map[string]any{"plan_id": pgbroker.FreePlanID}})["operation"].(string)
	c.must(http.StatusUnprocessableEntity, "PUT", inst+"/service_bindings/other", map[string]any{
		"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID})
	if state, desc := c.waitOperation(inst, op, 5*time.Minute); state != osb.StateSucceeded {
		t.Fatalf("changing plan %s: %s", state, desc)
	}
	t.Logf("moved to premium in %s", time.Since(began).Round(time.Millisecond))
	if got := c.must(http.StatusOK, "GET", inst, nil)["plan_id"]; got != pgbroker.PremiumPlanID {
		t.Errorf("plan %v after the update", got)
	}
	c.must(http.StatusOK, "PATCH", inst+"?accepts_incomplete=true", map[string]any{"service_id": pgbroker.ServiceID, "plan_id": pgbroker.PremiumPlanID})

	conn, err = connect(t.Context(), t, ns, creds)
	if err != nil {
		t.Fatalf("the binding's credentials after the move: %v", err)
	}
	var rows int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&rows); err != nil || rows != 1000 {
		t.Errorf("%d rows after the move (%v)", rows, err)
	}
	if _, err := conn.Exec(t.Context(), "INSERT INTO orders VALUES (1001)"); err != nil {
		t.Errorf("the moved database is not writable: %v", err)
	}
	var checksums string
	if err := conn.QueryRow(t.Context(), "SHOW data_checksums").Scan(&checksums); err != nil || checksums != "on" {
		t.Errorf("data_checksums %q on the new server (%v)", checksums, err)
	}
	_ = conn.Close(t.Context())
	harness.Eventually(t, time.Minute, "only the premium server is left", func(ctx context.Context) error {
		var sets appsv1.StatefulSetList
		if err := harness.Get(t).Client.List(ctx, &sets, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(sets.Items) != 1 || !strings.HasSuffix(sets.Items[0].Name, "-premium") {
			return fmt.Errorf("%d StatefulSets", len(sets.Items))
		}
		return nil
	})
	ids := "service_id=" + pgbroker.ServiceID + "&plan_id=" + pgbroker.PremiumPlanID
	c.must(http.StatusOK, "DELETE", inst+"/service_bindings/app?"+ids, nil)
	c.deprovision(inst, ids)
	assertObjects(t, ns, 0)
}

// A server that cannot start fails the provisioning with the reason; the instance can
// be neither bound nor repeated, only deprovisioned.
func TestBrokerReportsFailedProvisioning(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	b := pgbroker.New(harness.Get(t).Client, pgbroker.Options{Namespace: ns, Image: "localhost/kubia/no-such-image:local",
		ClusterDomain: "cluster.local"}, testr.New(t))
	handler, err := b.Handler(brokerCreds)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	c := brokerClient{t: t, url: server.URL, creds: brokerCreds}
	const inst = "/v2/service_instances/broken-db"
	body := provisionBody(pgbroker.FreePlanID, nil)
	op := c.must(http.StatusAccepted, "PUT", inst+"?accepts_incomplete=true", body)["operation"].(string)
	state, desc := c.waitOperation(inst, op, 3*time.Minute)
	if state != osb.StateFailed || !strings.Contains(desc, "cannot start") {
		t.Fatalf("provisioning %s: %q, want failed because the server cannot start", state, desc)
	}
	c.must(http.StatusNotFound, "GET", inst, nil)
	c.must(http.StatusConflict, "PUT", inst+"?accepts_incomplete=true", body)
	c.must(http.StatusUnprocessableEntity, "PUT", inst+"/service_bindings/b", body)
	delOp := c.must(http.StatusAccepted, "DELETE", inst+"?accepts_incomplete=true&service_id="+pgbroker.ServiceID+"&plan_id="+pgbroker.FreePlanID, nil)["operation"].(string)
	if state, desc := c.waitOperation(inst, delOp, 3*time.Minute); state != osb.StateSucceeded {
		t.Fatalf("deprovisioning %s: %s", state, desc)
	}
	assertObjects(t, ns, 0)
}
