package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kubia-dev/kubia/test/harness"
)

// bookBrokerURL replaces the book's imaginary broker URL: kubia-broker, installed by
// kubia up's chart, through the cluster's DNS, as kubia-controller-manager (in a pod)
// reaches it.
const bookBrokerURL = "http://kubia-broker.kubia-system.svc"

// catalogTimeout bounds each step of the Service Catalog's flow on the node.
const catalogTimeout = 3 * time.Minute

// credentialsClient is a pod of the book's flow: created before the binding, it mounts
// postgres-secret, which does not exist yet, so it can only start once the binding
// wrote it; then it logs in with the credentials and writes a row.
const credentialsClient = `apiVersion: v1
kind: Pod
metadata:
  name: db-client
spec:
  restartPolicy: Never
  containers:
  - name: psql
    image: localhost/kubia/postgres:local
    imagePullPolicy: Never
    command: [sh, -c, 'psql "$(cat /etc/postgres/uri)" -v ON_ERROR_STOP=1 -c "CREATE TABLE visits (who text); INSERT INTO visits VALUES (''db-client'')"']
    volumeMounts: [{name: credentials, mountPath: /etc/postgres, readOnly: true}]
  volumes:
  - name: credentials
    secret: {secretName: postgres-secret}
`

// assertBookServiceCatalog walks the book's Service Catalog chapter on kubia up's
// cluster: the three manifests, unchanged but for the broker's URL, against
// kubia-broker, with the controllers running in the cluster; and the kubia catalog
// commands along the way.
func assertBookServiceCatalog(t *testing.T, kubeconfig string) {
	t.Helper()
	began := time.Now()
	dir := t.TempDir()
	book, err := os.ReadFile(harness.BookPath(t, "database-broker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	brokerManifest := filepath.Join(dir, "database-broker.yaml")
	copied := strings.Replace(string(book), "http://database-osbapi.myorganization.org", bookBrokerURL, 1)
	if err := os.WriteFile(brokerManifest, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}

	// The administrator registers the broker. kubia-broker wants credentials, which
	// the book's manifest does not carry: the broker says so, and gets them.
	kubectl(t, kubeconfig, "apply", "-f", brokerManifest)
	waitJSONPath(t, kubeconfig, "clusterservicebroker/database-broker", `{.status.conditions[?(@.type=="Ready")].message}`, "401")
	kubectl(t, kubeconfig, "patch", "clusterservicebroker", "database-broker", "--type=merge", "-p",
		`{"spec":{"authInfo":{"basic":{"secretRef":{"namespace":"kubia-system","name":"kubia-broker-auth"}}}}}`)
	waitJSONPath(t, kubeconfig, "clusterservicebroker/database-broker", `{.status.conditions[?(@.type=="Ready")].reason}`, "FetchedCatalog")
	assertOutput(t, kubectl(t, kubeconfig, "get", "clusterserviceclasses"), "postgres-database", "database-broker")
	assertOutput(t, kubectl(t, kubeconfig, "get", "clusterserviceplans"), "free", "premium", "A free (but slow) PostgreSQL instance")
	assertOutput(t, kubia(t, kubeconfig, "catalog", "marketplace"), "postgres-database", "free, premium", "A PostgreSQL database")

	// The user's pod comes first: it waits for postgres-secret.
	podManifest := filepath.Join(dir, "db-client.yaml")
	if err := os.WriteFile(podManifest, []byte(credentialsClient), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, kubeconfig, "apply", "-f", podManifest)
	kubectl(t, kubeconfig, "apply", "-f", harness.BookPath(t, "database-instance.yaml"))
	kubectl(t, kubeconfig, "wait", "serviceinstance/my-postgres-db", "--for=condition=Ready", "--timeout="+catalogTimeout.String())
	assertOutput(t, kubectl(t, kubeconfig, "get", "serviceinstance", "my-postgres-db", "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}`),
		"ProvisionedSuccessfully: The instance was provisioned successfully")
	if phase := kubectl(t, kubeconfig, "get", "pod", "db-client", "-o", "jsonpath={.status.phase}"); phase != "Pending" {
		t.Fatalf("the pod mounting a Secret that does not exist yet is %s", phase)
	}

	kubectl(t, kubeconfig, "apply", "-f", harness.BookPath(t, "my-postgres-db-binding.yaml"))
	kubectl(t, kubeconfig, "wait", "servicebinding/my-postgres-db-binding", "--for=condition=Ready", "--timeout="+catalogTimeout.String())
	creds := secretData(t, kubeconfig, "postgres-secret")
	for _, key := range []string{"host", "port", "database", "username", "password", "uri"} {
		if creds[key] == "" {
			t.Errorf("postgres-secret has no %s: keys %v", key, keys(creds))
		}
	}
	// The pod started once the Secret appeared, and logged in with it.
	waitJSONPath(t, kubeconfig, "pod/db-client", "{.status.phase}", "Succeeded")
	assertOutput(t, kubia(t, kubeconfig, "catalog", "describe", "instance", "my-postgres-db"),
		"Ready - ProvisionedSuccessfully", "Class:", "postgres-database", "my-postgres-db-binding (Ready)")
	conn := connectPostgres(t, kubeconfig, creds)
	var who string
	if err := conn.QueryRow(t.Context(), "SELECT who FROM visits").Scan(&who); err != nil || who != "db-client" {
		t.Fatalf("the row the pod wrote: %q, %v", who, err)
	}
	conn.Close(context.Background())

	// Deleting the binding deletes the Secret and revokes the credentials; the instance
	// keeps running.
	kubectl(t, kubeconfig, "delete", "-f", harness.BookPath(t, "my-postgres-db-binding.yaml"), "--wait", "--timeout="+catalogTimeout.String())
	waitDeleted(t, kubeconfig, "secret/postgres-secret")
	if conn, err := tryConnectPostgres(t, kubeconfig, creds); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		if conn != nil {
			conn.Close(context.Background())
		}
		t.Errorf("the unbound credentials still log in (or fail otherwise): %v", err)
	}
	kubectl(t, kubeconfig, "wait", "serviceinstance/my-postgres-db", "--for=condition=Ready", "--timeout=10s")

	// Deleting the instance deprovisions it: kubia-broker's server goes.
	assertOutput(t, kubia(t, kubeconfig, "catalog", "deprovision", "my-postgres-db", "--wait", "--timeout", catalogTimeout.String()),
		"ServiceInstance default/my-postgres-db deleted")
	if left := kubectl(t, kubeconfig, "get", "statefulsets,services,secrets", "-n", "kubia-broker-instances", "-o", "name"); strings.Contains(left, "pg-") {
		t.Errorf("after deprovisioning, kubia-broker's namespace holds:\n%s", left)
	}
	kubectl(t, kubeconfig, "delete", "-f", brokerManifest, "--wait")
	waitDeleted(t, kubeconfig, "clusterserviceclass/postgres-database")
	t.Logf("the book's Service Catalog chapter ran in %s", time.Since(began).Round(100*time.Millisecond))
}

func kubia(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := exec.Command(kubiaBin, append(args, "--kubeconfig", kubeconfig)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubia %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func assertOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// waitJSONPath waits until the object's jsonpath contains want.
func waitJSONPath(t *testing.T, kubeconfig, object, jsonpath, want string) {
	t.Helper()
	harness.Eventually(t, catalogTimeout, fmt.Sprintf("%s %s contains %q", object, jsonpath, want), func(context.Context) error {
		out, err := kubectlErr(kubeconfig, "get", object, "-o", "jsonpath="+jsonpath)
		if err != nil || !strings.Contains(out, want) {
			return fmt.Errorf("%q (%v)", out, err)
		}
		return nil
	})
}

func waitDeleted(t *testing.T, kubeconfig, object string) {
	t.Helper()
	kubectl(t, kubeconfig, "wait", object, "--for=delete", "--timeout="+catalogTimeout.String())
}

// secretData reads a Secret's decoded data.
func secretData(t *testing.T, kubeconfig, name string) map[string]string {
	t.Helper()
	var secret struct{ Data map[string]string }
	if err := json.Unmarshal([]byte(kubectl(t, kubeconfig, "get", "secret", name, "-o", "json")), &secret); err != nil {
		t.Fatal(err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		decoded, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		data[k] = string(decoded)
	}
	return data
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func connectPostgres(t *testing.T, kubeconfig string, creds map[string]string) *pgx.Conn {
	t.Helper()
	conn, err := tryConnectPostgres(t, kubeconfig, creds)
	if err != nil {
		t.Fatalf("logging in with the binding's credentials: %v", err)
	}
	return conn
}

// tryConnectPostgres logs in with a binding's credentials from this machine, outside
// the cluster's DNS: through the cluster IP of the Service the host names.
func tryConnectPostgres(t *testing.T, kubeconfig string, creds map[string]string) (*pgx.Conn, error) {
	t.Helper()
	// host is <service>.<namespace>.svc.<cluster domain>
	parts := strings.SplitN(creds["host"], ".", 3)
	if len(parts) < 3 {
		t.Fatalf("host %q is not a Service's DNS name", creds["host"])
	}
	ip := kubectl(t, kubeconfig, "get", "service", parts[0], "-n", parts[1], "-o", "jsonpath={.spec.clusterIP}")
	uri, err := url.Parse(creds["uri"])
	if err != nil {
		t.Fatal(err)
	}
	uri.Host = net.JoinHostPort(ip, uri.Port())
	uri.RawQuery = "sslmode=disable&connect_timeout=5"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, uri.String())
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", parts[0], err)
	}
	return conn, nil
}
