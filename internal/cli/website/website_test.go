package website_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubia-dev/kubia/internal/cli/website"
	"github.com/kubia-dev/kubia/internal/goldenfile"
	"github.com/kubia-dev/kubia/test/harness"
)

// The commands must work the same whether the CRD or kubia-apiserver serves Websites.
func TestMain(m *testing.M) { harness.Main(m, harness.WithWebsiteModes()) }

// run runs `kubia website args...` in namespace ns and returns its output and error.
func run(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	cmd := website.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	cmd.SetArgs(append(args, "--kubeconfig", harness.Get(t).Cluster.KubeconfigPath(), "--namespace", ns))
	cmd.SetOut(errOut)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(t.Context())
	t.Logf("kubia website %s:\n%s%s", strings.Join(args, " "), out, errOut)
	return out.String(), err
}

func mustRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := run(t, ns, args...)
	if err != nil {
		t.Fatalf("kubia website %s: %v", strings.Join(args, " "), err)
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

// --dry-run=client -o yaml prints exactly the Website the flags describe (golden files;
// go test -run Golden -update rewrites them).
func TestCreateDryRunGolden(t *testing.T) {
	cases := map[string][]string{
		"minimal":   {"--git-repo", "https://github.com/luksa/kubia-website-example.git"},
		"all-flags": {"--git-repo", "git@example.org:team/site.git", "--ref", "release/v2", "--replicas", "3", "--sync-interval", "30s", "--ingress-host", "site.example.org", "--secret", "git-credentials"},
		"json":      {"--git-repo", "https://example.org/site.git", "--replicas", "0", "-o", "json"},
	}
	for name, flags := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"create", "site", "--dry-run=client"}, flags...)
			if !strings.Contains(strings.Join(flags, " "), "-o json") {
				args = append(args, "-o", "yaml")
			}
			got := mustRun(t, "demo", args...)
			goldenfile.Check(t, filepath.Join("testdata", name+".golden"), got)
		})
	}
}

// Create, list, describe, open and delete against the API server; without a controller
// the Website has no status yet, which describe and open say.
func TestCommands(t *testing.T) {
	ns := harness.Namespace(t)
	out := mustRun(t, ns, "create", "site", "--git-repo", "https://example.org/site.git", "--replicas", "2", "--secret", "creds")
	assertContains(t, out, "website.extensions.example.com/site created")
	out = mustRun(t, ns, "list")
	assertContains(t, out, "NAME", "URL", "READY", "REASON", "AGE", "site")
	out = mustRun(t, ns, "list", "-o", "name")
	if out != "website.extensions.example.com/site\n" {
		t.Errorf("list -o name: %q", out)
	}
	out = mustRun(t, ns, "describe", "site")
	assertContains(t, out, "Git repository:", "https://example.org/site.git", "Replicas:", "2", "Sync interval:", "1m0s",
		"Credentials:", "Secret creds", "URL:", "(none yet)", "Conditions:", "the controller has not reported yet",
		"Deployment site-website: not created yet", "Events:")
	_, err := run(t, ns, "open", "site")
	if code := website.ExitCode(err); code != website.ExitNotReady || !strings.Contains(err.Error(), "no URL yet") {
		t.Errorf("open without a URL: exit %d, %v; want %d and 'no URL yet'", code, err, website.ExitNotReady)
	}
	out = mustRun(t, ns, "delete", "site")
	assertContains(t, out, `"site" deleted`)
	_, err = run(t, ns, "describe", "site")
	if code := website.ExitCode(err); code != website.ExitFailed || !strings.Contains(err.Error(), "not found") {
		t.Errorf("describe after delete: exit %d, %v", code, err)
	}
	assertContains(t, mustRun(t, ns, "list"), "No websites found.")
}

// The API server's validation message reaches the user as it is, with exit code 1;
// --dry-run=server validates without storing.
func TestServerValidation(t *testing.T) {
	ns := harness.Namespace(t)
	for _, dryRun := range []string{"none", "server"} {
		_, err := run(t, ns, "create", "bad", "--git-repo", "file:///etc/passwd", "--dry-run="+dryRun)
		if code := website.ExitCode(err); code != website.ExitFailed || !strings.Contains(err.Error(), "spec.gitRepo") ||
			!strings.Contains(err.Error(), "must be an https://, http://, ssh:// or scp-style (user@host:path) Git URL") {
			t.Errorf("--dry-run=%s with a file:// URL: exit %d, %v", dryRun, code, err)
		}
	}
	out := mustRun(t, ns, "create", "good", "--git-repo", "https://example.org/site.git", "--dry-run=server")
	assertContains(t, out, "website.extensions.example.com/good created (server dry run)")
	assertContains(t, mustRun(t, ns, "list"), "No websites found.")
}

// Wrong command lines exit with 2 before anything is sent.
func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no --git-repo":  {"create", "site"},
		"no name":        {"create", "--git-repo", "https://example.org/site.git"},
		"bad --dry-run":  {"create", "site", "--git-repo", "https://example.org/site.git", "--dry-run=maybe"},
		"bad --output":   {"create", "site", "--git-repo", "https://example.org/site.git", "-o", "table"},
		"wait + dry run": {"create", "site", "--git-repo", "https://example.org/site.git", "--dry-run=client", "--wait"},
		"open two":       {"open", "a", "b"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, "default", args...)
			if code := website.ExitCode(err); code != website.ExitUsage {
				t.Errorf("exit %d (%v), want %d", code, err, website.ExitUsage)
			}
		})
	}
}
