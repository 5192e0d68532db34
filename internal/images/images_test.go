package images

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// Equal inputs must give byte-identical archives (fixed times, sorted entries), and a
// changed input a new archive.
func TestArchivesAreReproducibleAndCachedByContent(t *testing.T) {
	tree := t.TempDir()
	for path, content := range map[string]string{"etc/motd": "hello\n", "usr/bin/tool": "#!/bin/sh\n", "usr/share/doc/x/README": "skipped"} {
		full := filepath.Join(tree, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("tool", filepath.Join(tree, "usr/bin/alias")); err != nil {
		t.Fatal(err)
	}
	img := func(greeting string) Image {
		return Image{
			Name: "test",
			Layers: []Layer{
				TreeLayer{Root: tree, Key: "tree-v1", Skip: skipDebianClutter},
				FilesLayer{{Path: "/etc/greeting", Mode: 0o644, Content: []byte(greeting)}, {Path: "/tmp", Mode: 0o1777 | dirMode}},
			},
			Config: v1.Config{Entrypoint: []string{"/usr/bin/tool"}, User: nonRoot},
		}
	}

	first := mustArchive(t, t.TempDir(), img("hi"))
	second := mustArchive(t, t.TempDir(), img("hi"))
	if filepath.Base(first) != filepath.Base(second) || fileSum(t, first) != fileSum(t, second) {
		t.Fatalf("the same inputs gave different archives: %s and %s", first, second)
	}
	changed := mustArchive(t, filepath.Dir(first), img("hello"))
	if filepath.Base(changed) == filepath.Base(first) {
		t.Fatal("a changed file kept the same cache key")
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("the archive of the earlier inputs is still cached (%v)", err)
	}

	loaded, err := tarball.ImageFromPath(second, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != nonRoot || cfg.Config.Entrypoint[0] != "/usr/bin/tool" {
		t.Fatalf("config = %+v", cfg.Config)
	}
	layers, err := loaded.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
}

func mustArchive(t *testing.T, dir string, img Image) string {
	t.Helper()
	path, err := Archive(dir, img)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// nginx passes the site's webhook path to kubia-sync's webhook on kubia-sync's port.
func TestNginxPassesTheWebhookToKubiaSync(t *testing.T) {
	if syncPort != strconv.Itoa(syncstatus.Port) {
		t.Fatalf("syncPort %s, kubia-sync listens on %d", syncPort, syncstatus.Port)
	}
	want := "location = " + syncstatus.SiteWebhookPath + " {"
	target := "proxy_pass http://127.0.0.1:" + strconv.Itoa(syncstatus.Port) + syncstatus.WebhookPath + ";"
	if !strings.Contains(nginxConfig, want) || !strings.Contains(nginxConfig, target) || !strings.Contains(nginxConfig, "limit_except POST") {
		t.Fatalf("nginx configuration does not pass POST %s to %s:\n%s", syncstatus.SiteWebhookPath, target, nginxConfig)
	}
}
