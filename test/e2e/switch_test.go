package e2e

import (
	"strings"
	"syscall"
	"testing"
)

// TestUpSwitchesWebsitesToAPIServer starts `kubia up --websites=crd`, makes a Website,
// then starts `kubia up` (kubia-apiserver, the default) on the same data dir: the
// Website is carried over (a new UID, now also served as v1alpha1) and its Deployment
// and Service are the same objects, owned by it.
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
	up.stop(t, syscall.SIGTERM, stopLimit)
}
