package nodewebsites

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
	"github.com/kubia-dev/kubia/test/harness"
)

// `kubectl create website … --wait`, through kubectl's plugin lookup, waits until the
// site is served, prints its URL last, and the page is there.
func TestKubectlCreateWebsiteWaits(t *testing.T) {
	harness.RequireNode(t)
	ns := harness.Namespace(t)
	runController(t, ns)
	repo := nodeGitServer(t).Repo(t, "site")
	repo.Commit(t, map[string]string{"index.html": "<h1>made with kubectl create website</h1>"}, "first")

	plugins := t.TempDir()
	root, err := sourcetree.Root()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "kubectl-create-website"), "./cmd/kubectl-create-website")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, localcluster.Kubectl), "create", "website", "site",
		"--git-repo", repo.URL, "--sync-interval", "10s", "--wait", "-n", ns)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+harness.Get(t).Cluster.KubeconfigPath(), "PATH="+plugins+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	t.Logf("kubectl create website --wait:\n%s", out)
	if err != nil {
		t.Fatalf("kubectl create website --wait: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	url := lines[len(lines)-1]
	if !strings.HasPrefix(url, "http://"+localcluster.DefaultNodeIP+":") || !strings.Contains(string(out), "website.extensions.example.com/site created") {
		t.Fatalf("output does not say created and end with the URL:\n%s", out)
	}
	harness.Eventually(t, time.Minute, "the page is served at the printed URL", func(ctx context.Context) error {
		return harness.ExpectPage(ctx, url, "made with kubectl create website")
	})
}
