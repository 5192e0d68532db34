package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/test/harness"
)

// TestUpSwitchesWebsitesToAPIServer starts `kubia up --websites=crd`, makes a Website,
// then starts `kubia up` (kubia-apiserver, the default) on the same data dir: the
// Website is carried over (a new UID, now also served as v1alpha1) and its Deployment
// and Service are the same objects, owned by it; the garbage collector deletes them with it.
func TestUpSwitchesWebsitesToAPIServer(t *testing.T) {
	requireNodeHost(t)
	dataDir := t.TempDir()
	kubeconfig := dataDir + "/kubeconfig"
	args := []string{"--data-dir", dataDir, "--apiserver-port", "0", "--node=on", "--node-lock-wait", nodeLockWait.String()}

	crd := startUp(t, append(args, "--websites=crd")...)
	crd.waitReady(t, readyTimeout+nodeLockWait)
	if !strings.Contains(crd.Output(), "Websites: served by the CRD") {
		t.Fatalf("kubia up --websites=crd does not say so:\n%s", crd.Output())
	}
	kubectl(t, kubeconfig, "apply", "-f", "testdata/website.yaml")
	kubectl(t, kubeconfig, "wait", "--for=create", "deployment/site-website", "--timeout=2m")
	kubectl(t, kubeconfig, "wait", "--for=create", "service/site-website", "--timeout=2m")
	oldUID := kubectl(t, kubeconfig, "get", "website", "site", "-o", "jsonpath={.metadata.uid}")
	children := kubectl(t, kubeconfig, "get", "deployment/site-website", "service/site-website", "-o", "jsonpath={.items[*].metadata.uid}")
	crd.stop(t, syscall.SIGTERM, stopLimit)

	up := startUp(t, args...)
	up.waitReady(t, readyTimeout+nodeLockWait)
	if !strings.Contains(up.Output(), "Websites: served by kubia-apiserver") {
		t.Fatalf("kubia up does not say kubia-apiserver serves Websites:\n%s", up.Output())
	}
	newUID := kubectl(t, kubeconfig, "get", "websites.v1alpha1.extensions.example.com", "site", "-o", "jsonpath={.metadata.uid}")
	if newUID == "" || newUID == oldUID {
		t.Fatalf("the Website's UID after the switch: %q (was %q)", newUID, oldUID)
	}
	if got := kubectl(t, kubeconfig, "get", "deployment/site-website", "service/site-website", "-o", "jsonpath={.items[*].metadata.uid}"); got != children {
		t.Errorf("children after the switch: %s, were %s (replaced)", got, children)
	}
	owners := kubectl(t, kubeconfig, "get", "deployment/site-website", "service/site-website", "-o", "jsonpath={.items[*].metadata.ownerReferences[0].uid}")
	if owners != newUID+" "+newUID {
		t.Errorf("children's owners after the switch: %q, want the new Website %s twice", owners, newUID)
	}
	assertBookAPIService(t, kubeconfig)
	// kube-controller-manager's garbage collector sees kubia-apiserver's Websites: a
	// foreground deletion waits for it to delete the children first.
	kubectl(t, kubeconfig, "delete", "website", "site", "--cascade=foreground", "--timeout=2m")
	if out, err := kubectlErr(kubeconfig, "get", "deployment/site-website", "service/site-website"); err == nil {
		t.Errorf("the Website's children after its foreground deletion:\n%s", out)
	}
	up.stop(t, syscall.SIGTERM, stopLimit)
}

// assertBookAPIService applies the book's website-apiservice.yaml as is: its APIService
// names Service default/website-api, which kubia up's chart values add, with kubia-apiserver's
// endpoints copied in; the chart's caBundle is kept, and Websites are served through it.
func assertBookAPIService(t *testing.T, kubeconfig string) {
	t.Helper()
	// kubia-controller-manager copies them once it runs again after the switch.
	harness.Eventually(t, 2*time.Minute, "Service default/website-api has kubia-apiserver's endpoints", func(context.Context) error {
		addresses, err := kubectlErr(kubeconfig, "-n", "default", "get", "endpointslices", "-l", "kubernetes.io/service-name=website-api",
			"-o", "jsonpath={.items[*].endpoints[*].addresses[0]}")
		if err != nil || addresses == "" {
			return fmt.Errorf("none copied (%v)", err)
		}
		return nil
	})
	kubectl(t, kubeconfig, "apply", "-f", harness.BookPath(t, "website-apiservice.yaml"))
	const name = "apiservice/v1alpha1.extensions.example.com"
	if got := kubectl(t, kubeconfig, "get", name, "-o", "jsonpath={.spec.service.namespace}/{.spec.service.name} {.spec.insecureSkipTLSVerify}"); got != "default/website-api " {
		t.Fatalf("the book's APIService after kubectl apply: service and insecureSkipTLSVerify %q", got)
	}
	if kubectl(t, kubeconfig, "get", name, "-o", "jsonpath={.spec.caBundle}") == "" {
		t.Fatal("kubectl apply of the book's APIService dropped the chart's caBundle")
	}
	kubectl(t, kubeconfig, "wait", "--for=condition=Available", name, "--timeout=2m")
	kubectl(t, kubeconfig, "get", "websites.v1alpha1.extensions.example.com", "site")
	manifest := filepath.Join(t.TempDir(), "alpha.yaml")
	alpha := "apiVersion: extensions.example.com/v1alpha1\nkind: Website\nmetadata:\n  name: alpha\nspec:\n  gitRepo: https://git.invalid/alpha.git\n  replicas: 0\n"
	if err := os.WriteFile(manifest, []byte(alpha), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, kubeconfig, "create", "-f", manifest)
	if got := kubectl(t, kubeconfig, "get", "websites.v1.extensions.example.com", "alpha", "-o", "jsonpath={.spec.gitRepo}"); got != "https://git.invalid/alpha.git" {
		t.Errorf("a Website created through the book's APIService, read as v1: gitRepo %q", got)
	}
	kubectl(t, kubeconfig, "delete", "-f", manifest, "--wait")
}
