package apiserver_test

import (
	"strings"
	"testing"

	"github.com/kubia-dev/kubia/test/harness"
)

func TestBookWebsiteThroughTheAggregator(t *testing.T) {
	ns := harness.Namespace(t)
	harness.Kubectl(t, "apply", "-n", ns, "-f", harness.BookPath(t, "kubia-website.yaml"))
	out := harness.Kubectl(t, "get", "websites.v1alpha1.extensions.example.com", "-n", ns, "-o", "yaml")
	t.Log(out)
	out = harness.Kubectl(t, "get", "ws", "-n", ns)
	if !strings.Contains(out, "URL") {
		t.Fatal(out)
	}
	t.Log(out)
}
