package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/test/harness"
)

// assertBookWebsiteSaysWhy applies the book's Website, as a new user would, on kubia up's
// cluster, whose node cannot reach github.com: kubia-controller-manager, in its pod, reads
// kubia-sync's error on the Website's pod and reports it where users look, and no URL
// claims the site is served.
func assertBookWebsiteSaysWhy(t *testing.T, kubeconfig string) {
	t.Helper()
	kubectl(t, kubeconfig, "apply", "-f", harness.BookPath(t, "kubia-website.yaml"))
	kubectl(t, kubeconfig, "wait", "website/kubia", "--for=condition=Degraded", "--timeout=3m")
	got := kubectl(t, kubeconfig, "get", "website", "kubia", "-o",
		`jsonpath={.status.conditions[?(@.type=="Degraded")].reason}|{.status.conditions[?(@.type=="Degraded")].message}|{.status.url}`)
	parts := strings.Split(got, "|")
	if len(parts) != 3 || parts[0] != "SyncFailed" || !strings.Contains(parts[1], "github.com") || parts[2] != "" {
		t.Fatalf("Degraded reason|message|url = %q; want SyncFailed, kubia-sync's error about github.com, no URL", got)
	}
	if table := kubectl(t, kubeconfig, "get", "website", "kubia"); !strings.Contains(table, "SyncFailed") {
		t.Errorf("kubectl get website does not say why it is not served:\n%s", table)
	}
	// The event follows the status write: wait for it, then make sure there is one, not a
	// series (a repeated event would count more than one occurrence).
	var events string
	harness.Eventually(t, time.Minute, "a SyncFailed event", func(context.Context) error {
		events = kubectl(t, kubeconfig, "get", "events", "--field-selector", "involvedObject.name=kubia,reason=SyncFailed",
			"-o", `jsonpath={range .items[*]}{.metadata.name} series={.series.count};{end}`)
		if events == "" {
			return errors.New("none yet")
		}
		return nil
	})
	if items := strings.Split(strings.TrimSuffix(events, ";"), ";"); len(items) != 1 || !strings.HasSuffix(items[0], "series=") {
		t.Errorf("SyncFailed events %q, want exactly one occurrence", events)
	}
	kubectl(t, kubeconfig, "delete", "-f", harness.BookPath(t, "kubia-website.yaml"), "--wait")
}
