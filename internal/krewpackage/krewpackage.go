// Package krewpackage makes a krew release of the kubectl-create-website plugin from the
// manifest template deploy/krew/create-website.yaml: a .tar.gz archive for each platform
// the template lists, and the template rendered into a manifest naming their sha256.
//
// The template is the one krew-release-bot renders at a release, from the archives it
// downloads; rendering it here the same way, from archives built here, keeps one source
// for the manifest's fields, its platforms and its archives' names included.
package krewpackage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

// Template is the manifest template, relative to the repository's root.
const Template = "deploy/krew/create-website.yaml"

// Release is what Package made.
type Release struct {
	// Manifest is the rendered manifest, <plugin name>.yaml as krew-index names it.
	Manifest string
	// Version is the manifest's spec.version, the tag it was rendered for.
	Version   string
	Platforms []Platform
}

// Platform is one of the manifest's platforms and the archive built for it.
type Platform struct {
	OS, Arch string
	// Bin is the binary krew links, ./cmd/<Bin> of the module.
	Bin string
	// Archive is the archive's path; its name is that of the platform's uri.
	Archive string
}

// manifest holds the fields of a krew manifest that Package needs.
type manifest struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI string `json:"uri"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// Package builds into dir the archives that the template of the module at moduleDir
// names, and writes the manifest rendered for tag (a release tag such as v0.1.0, the
// plugin's version) beside them.
func Package(moduleDir, tag, dir string) (*Release, error) {
	tmpl, err := os.ReadFile(filepath.Join(moduleDir, filepath.FromSlash(Template)))
	if err != nil {
		return nil, fmt.Errorf("reading the krew manifest template: %w", err)
	}
	// The archives' sha256 cannot be known before they are built: a first rendering,
	// without them, tells which archives to build.
	m, err := parse(tmpl, tag)
	if err != nil {
		return nil, err
	}
	rel := &Release{Manifest: filepath.Join(dir, m.Metadata.Name+".yaml"), Version: tag}
	for i, p := range m.Spec.Platforms {
		pl := Platform{OS: p.Selector.MatchLabels["os"], Arch: p.Selector.MatchLabels["arch"], Bin: p.Bin,
			Archive: filepath.Join(dir, path.Base(p.URI))}
		if pl.OS == "" || pl.Arch == "" || pl.Bin == "" || !strings.HasSuffix(pl.Archive, ".tar.gz") {
			return nil, fmt.Errorf("%s: platform %d needs os and arch labels, a bin and a .tar.gz uri", Template, i)
		}
		if err := buildArchive(moduleDir, pl); err != nil {
			return nil, err
		}
		rel.Platforms = append(rel.Platforms, pl)
	}
	out, err := render(tmpl, tag, func(uri string) (string, error) {
		return fileSHA256(filepath.Join(dir, path.Base(uri)))
	})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(rel.Manifest, out, 0o644); err != nil {
		return nil, fmt.Errorf("writing the krew manifest: %w", err)
	}
	return rel, nil
}

// parse renders the template without the archives' sha256 and reads the result.
func parse(tmpl []byte, tag string) (*manifest, error) {
	out, err := render(tmpl, tag, func(string) (string, error) { return "unknown", nil })
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := yaml.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("reading the rendered %s: %w", Template, err)
	}
	if m.Metadata.Name == "" || len(m.Spec.Platforms) == 0 {
		return nil, fmt.Errorf("%s names no plugin or no platform", Template)
	}
	return &m, nil
}

// render executes the template as krew-release-bot does, for what the template uses: .TagName
// is the release's tag, and addURIAndSha URL TAG expands the URL (itself a template of
// .TagName) into the platform's uri and, from sha of that uri, its sha256.
func render(tmpl []byte, tag string, sha func(uri string) (string, error)) ([]byte, error) {
	type values struct{ TagName string }
	funcs := template.FuncMap{"addURIAndSha": func(url, tag string) (string, error) {
		uri, err := execute(template.New("uri"), url, values{TagName: tag})
		if err != nil {
			return "", err
		}
		sum, err := sha(uri)
		if err != nil {
			return "", err
		}
		// The bot's layout: sha256 under uri, at the indentation of a platform's fields.
		return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
	}}
	out, err := execute(template.New(path.Base(Template)).Funcs(funcs), string(tmpl), values{TagName: tag})
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", Template, err)
	}
	return []byte(out), nil
}

func execute(t *template.Template, text string, data any) (string, error) {
	t, err := t.Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// buildArchive builds ./cmd/<bin> for the platform, statically linked as release
// binaries are, and archives it.
func buildArchive(moduleDir string, p Platform) error {
	tmp, err := os.MkdirTemp("", "kubia-krew-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	binary := filepath.Join(tmp, p.Bin)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, "./cmd/"+p.Bin)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/%s for %s/%s: %w\n%s", p.Bin, p.OS, p.Arch, err, out)
	}
	if err := writeTarGz(p.Archive, binary, p.Bin); err != nil {
		return fmt.Errorf("archiving %s for %s/%s: %w", p.Bin, p.OS, p.Arch, err)
	}
	return nil
}

// writeTarGz writes an archive holding the binary as name at its root. Its metadata is
// fixed (no owner, the epoch as mtime), so that the same binary gives the same sha256.
func writeTarGz(archive, binary, name string) (err error) {
	content, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(content)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("hashing the archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
