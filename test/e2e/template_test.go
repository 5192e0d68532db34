package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/test/harness"
)

// assertStarterTemplates checks, with the kubia binary against kubia up's cluster, that
// the starter catalog is in namespace openshift (kubia up says so), that `kubia process`
// processes one of them there and that `kubia new-app` instantiates PostgreSQL and waits
// until it runs; deleting the TemplateInstance deletes its objects.
func assertStarterTemplates(t *testing.T, kubeconfig, upOutput string) {
	t.Helper()
	if !strings.Contains(upOutput, "Templates: the starter catalog in namespace openshift") {
		t.Errorf("kubia up does not say where the starter templates are:\n%s", upOutput)
	}
	harness.Eventually(t, 2*time.Minute, "the starter templates in namespace openshift", func(context.Context) error {
		out, err := kubectlErr(kubeconfig, "get", "templates", "-n", "openshift", "-o", "name")
		if err != nil || !strings.Contains(out, "template.template.openshift.io/postgresql-ephemeral") {
			return fmt.Errorf("kubectl get templates -n openshift: %v\n%s", err, out)
		}
		return nil
	})
	assertOutput(t, kubia(t, kubeconfig, "process", "openshift//postgresql-ephemeral", "-n", "default", "-o", "name"),
		"secret/postgresql\nservice/postgresql\ndeployment.apps/postgresql\n")

	kubectl(t, kubeconfig, "create", "namespace", "shop")
	out := kubia(t, kubeconfig, "new-app", "--template", "postgresql-ephemeral", "-p", "MEMORY_LIMIT=128Mi", "-n", "shop", "--timeout", "3m")
	assertOutput(t, out, `--> Deploying template "openshift/postgresql-ephemeral" to project shop`,
		"Password: ", `deployment.apps "postgresql" created`, "--> Success")
	if got := kubectl(t, kubeconfig, "get", "deployment", "postgresql", "-n", "shop", "-o", "jsonpath={.status.availableReplicas}"); got != "1" {
		t.Errorf("PostgreSQL's Deployment after new-app: %q available, want 1", got)
	}
	kubectl(t, kubeconfig, "delete", "templateinstance", "postgresql-ephemeral", "-n", "shop", "--wait")
	harness.Eventually(t, time.Minute, "the instance's objects deleted with it", func(context.Context) error {
		if out, _ := kubectlErr(kubeconfig, "get", "secrets,services,deployments", "-n", "shop", "-o", "name"); strings.Contains(out, "postgresql") {
			return fmt.Errorf("left:\n%s", out)
		}
		return nil
	})
}
