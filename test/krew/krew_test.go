// Package krew_test installs the kubectl-create-website plugin with the real krew, from
// the archives and manifest that `make krew-package` makes, runs it through the real
// kubectl, and uninstalls it. It needs no cluster and no network.
package krew_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kubia-dev/kubia/internal/krewpackage"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/sourcetree"
)

const (
	plugin = "create-website"
	// krewLink is the name krew links the plugin as: it turns the dashes of a plugin's
	// name into underscores, and kubectl runs kubectl-create_website for
	// `kubectl create-website`.
	krewLink = "kubectl-create_website"
	// userLink is the name `kubectl create website` looks for, which the docs have the
	// user link to krew's.
	userLink = "kubectl-create-website"
)

// The Website `--dry-run=client -o yaml` prints, in the kubeconfig context's namespace.
const wantYAML = `apiVersion: extensions.example.com/v1
kind: Website
metadata:
  name: site
  namespace: demo
spec:
  gitRepo: https://example.org/site.git
status: {}
`

// createArgs follow the command's name: `kubectl create-website` or `kubectl create website`.
var createArgs = []string{"site", "--git-repo", "https://example.org/site.git", "--dry-run=client", "-o", "yaml"}

// kubeconfig names the namespace demo; nothing listens at its server, so any request the
// plugin made would fail.
const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: demo
  context: {cluster: none, namespace: demo}
current-context: demo
`

// Each of the manifest's platforms installs with krew and uninstalls cleanly; on this
// machine's platform the installed plugin runs through kubectl.
func TestKrewInstallsThePlugin(t *testing.T) {
	bins := upstreamBinaries(t, "krew", "validate-krew-manifest", localcluster.Kubectl)
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("krew keeps its plugin index in Git, and git is not on the PATH: %v", err)
	}
	root, err := sourcetree.Root()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := krewpackage.Package(root, "v0.0.0-test", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// krew-index's check of a manifest; its install step downloads the archives, which
	// only a release has.
	if out, err := exec.Command(bins["validate-krew-manifest"], "-manifest", rel.Manifest, "-skip-install").CombinedOutput(); err != nil {
		t.Fatalf("validate-krew-manifest: %v\n%s", err, out)
	}
	index := localIndex(t, git, rel.Manifest)
	hostPlatform := false
	for _, p := range rel.Platforms {
		host := p.OS == runtime.GOOS && p.Arch == runtime.GOARCH
		hostPlatform = hostPlatform || host
		t.Run(p.OS+"/"+p.Arch, func(t *testing.T) {
			k := newKrew(t, bins, index, filepath.Dir(git), p)
			k.mustRun(t, k.krew, "update")
			out := k.mustRun(t, k.krew, "install", "--manifest="+rel.Manifest, "--archive="+p.Archive)
			if !strings.Contains(out, "Use this plugin:\n | \tkubectl create-website\n") {
				t.Errorf("krew install does not name `kubectl create-website`:\n%s", out)
			}
			checkInstalled(t, k.root, rel.Version, p)
			if host {
				checkKubectl(t, k)
			}
			k.mustRun(t, k.krew, "uninstall", plugin)
			if host {
				removeUserLink(t, k.root)
			}
			checkUninstalled(t, k.root)
		})
	}
	if !hostPlatform {
		t.Errorf("the manifest has no platform for this machine (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
}

// upstreamBinaries are the named binaries that hack/kube builds into the shared cache.
func upstreamBinaries(t *testing.T, names ...string) map[string]string {
	t.Helper()
	dir, err := localcluster.DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	paths := make(map[string]string, len(names))
	for _, name := range names {
		paths[name] = filepath.Join(dir, name)
		if _, err := os.Stat(paths[name]); err != nil {
			t.Fatalf("%s is missing from %s: run `make kube-binaries` first", name, dir)
		}
	}
	return paths
}

// localIndex makes a Git repository laid out as krew-index is, holding the manifest:
// krew's uninstall refuses to run without a plugin index, and its default one is on
// GitHub.
func localIndex(t *testing.T, git, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	content, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins", plugin+".yaml"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "plugins"},
		{"-c", "user.name=Kubia", "-c", "user.email=kubia@example.org", "commit", "-q", "-m", "Add " + plugin},
	} {
		cmd := exec.Command(git, append([]string{"-C", dir}, args...)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + filepath.Dir(git)}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

// krewEnv is a krew installation of its own, as a user's on the platform, whose PATH
// has only krew's plugins and git.
type krewEnv struct {
	root, krew, kubectl string // KREW_ROOT and the binaries
	env                 []string
}

func newKrew(t *testing.T, bins map[string]string, index, gitDir string, p krewpackage.Platform) *krewEnv {
	t.Helper()
	root := t.TempDir()
	config := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(config, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return &krewEnv{root: root, krew: bins["krew"], kubectl: bins[localcluster.Kubectl], env: []string{
		"KREW_ROOT=" + root,
		"KREW_OS=" + p.OS,
		"KREW_ARCH=" + p.Arch,
		// `krew update` clones this instead of GitHub's index.
		"KREW_DEFAULT_INDEX_URI=" + index,
		// No look-up of krew's latest release on GitHub.
		"KREW_NO_UPGRADE_CHECK=1",
		"PATH=" + filepath.Join(root, "bin") + string(os.PathListSeparator) + gitDir,
		"HOME=" + t.TempDir(),
		"KUBECONFIG=" + config,
	}}
}

// run runs bin with args and returns its standard output and error output.
func (k *krewEnv) run(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = k.env, &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustRun runs bin with args and returns both outputs, standard output first.
func (k *krewEnv) mustRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.run(t, bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout + stderr
}

// checkInstalled checks that krew linked the binary of the platform's archive, and
// nothing else, into its bin directory.
func checkInstalled(t *testing.T, root, version string, p krewpackage.Platform) {
	t.Helper()
	target, err := os.Readlink(filepath.Join(root, "bin", krewLink))
	if err != nil {
		t.Fatalf("krew did not link the plugin as %s: %v", krewLink, err)
	}
	if want := filepath.Join(root, "store", plugin, version, p.Bin); target != want {
		t.Errorf("%s links to %s, want %s", krewLink, target, want)
	}
	if got := binDir(t, root); len(got) != 1 {
		t.Errorf("krew's bin directory holds %v, want %s alone", got, krewLink)
	}
	checkMachine(t, target, p.Arch)
}

// checkMachine checks that the binary was built for arch (of Linux, the manifest's only
// OS).
func checkMachine(t *testing.T, binary, arch string) {
	t.Helper()
	want, ok := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if !ok {
		t.Fatalf("no ELF machine known for %s: extend checkMachine", arch)
	}
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != want {
		t.Errorf("%s is for %s, want %s", binary, f.Machine, want)
	}
}

// checkKubectl runs the installed plugin through kubectl, as `kubectl create-website`,
// which finds krew's link, and as `kubectl create website`, which finds it only through
// the link the docs add.
func checkKubectl(t *testing.T, k *krewEnv) {
	t.Helper()
	checkWebsite(t, k, "create-website")
	stdout, stderr, err := k.run(t, k.kubectl, append([]string{"create", "website"}, createArgs...)...)
	if err == nil || !strings.Contains(stderr, "unknown flag: --git-repo") {
		t.Errorf("kubectl create website without %s: %v, want kubectl create's own unknown flag error\n%s%s", userLink, err, stdout, stderr)
	}
	if err := os.Symlink(krewLink, filepath.Join(k.root, "bin", userLink)); err != nil {
		t.Fatal(err)
	}
	checkWebsite(t, k, "create", "website")
}

func checkWebsite(t *testing.T, k *krewEnv, command ...string) {
	t.Helper()
	args := append(command, createArgs...)
	stdout, stderr, err := k.run(t, k.kubectl, args...)
	if err != nil || stdout != wantYAML {
		t.Errorf("kubectl %s: %v\n--- got\n%s%s--- want\n%s", strings.Join(args, " "), err, stdout, stderr, wantYAML)
	}
}

// removeUserLink removes the link the docs add, which krew's uninstall leaves dangling.
func removeUserLink(t *testing.T, root string) {
	t.Helper()
	link := filepath.Join(root, "bin", userLink)
	if _, err := os.Stat(link); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after krew uninstall: %v, want a dangling link", userLink, err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
}

// checkUninstalled checks that krew removed its link, the plugin's files and its receipt.
func checkUninstalled(t *testing.T, root string) {
	t.Helper()
	if got := binDir(t, root); len(got) != 0 {
		t.Errorf("krew's bin directory still holds %v", got)
	}
	for _, p := range []string{filepath.Join(root, "store", plugin), filepath.Join(root, "receipts", plugin+".yaml")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after krew uninstall: %v, want it gone", p, err)
		}
	}
}

func binDir(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
