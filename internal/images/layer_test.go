package images

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestTreeLayerKeepsLinksAndSkipsClutter(t *testing.T) {
	tree := t.TempDir()
	mustWrite(t, filepath.Join(tree, "usr/bin/tool"), "#!/bin/sh\n")
	mustWrite(t, filepath.Join(tree, "usr/share/doc/pkg/copyright"), "long text")
	if err := os.Symlink("tool", filepath.Join(tree, "usr/bin/alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(tree, "usr/bin/tool"), filepath.Join(tree, "usr/bin/hardlink")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (TreeLayer{Root: tree, Skip: skipDebianClutter}).write(&buf); err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, &buf)
	cases := map[string]struct {
		present  bool
		typeflag byte
		link     string
	}{
		// Walk order is lexical, so "hardlink" comes first and holds the content.
		"usr/bin/hardlink":            {present: true, typeflag: tar.TypeReg},
		"usr/bin/alias":               {present: true, typeflag: tar.TypeSymlink, link: "tool"},
		"usr/bin/tool":                {present: true, typeflag: tar.TypeLink, link: "usr/bin/hardlink"},
		"usr/share/doc/":              {present: true, typeflag: tar.TypeDir},
		"usr/share/doc/pkg/copyright": {},
		"usr/share/doc/pkg/":          {},
	}
	for name, want := range cases {
		hdr, ok := entries[name]
		if ok != want.present {
			t.Errorf("%s in layer = %v, want %v", name, ok, want.present)
			continue
		}
		if ok && (hdr.Typeflag != want.typeflag || hdr.Linkname != want.link || !hdr.ModTime.Equal(epoch)) {
			t.Errorf("%s: type %c link %q time %s; want type %c link %q time %s", name, hdr.Typeflag, hdr.Linkname, hdr.ModTime, want.typeflag, want.link, epoch)
		}
	}
}

func TestFilesLayerKeepsSpecialModeBits(t *testing.T) {
	var buf bytes.Buffer
	files := FilesLayer{{Path: "/tmp", Mode: 0o1777 | dirMode}, {Path: "/bin/run", Mode: 0o755, Content: []byte("x"), UID: 100, GID: 102}}
	if err := files.write(&buf); err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, &buf)
	if got := entries["tmp/"]; got == nil || got.Mode != 0o1777 || got.Typeflag != tar.TypeDir {
		t.Fatalf("tmp/ = %+v, want a directory with mode 01777", got)
	}
	if got := entries["bin/run"]; got == nil || got.Mode != 0o755 || got.Uid != 100 || got.Gid != 102 {
		t.Fatalf("bin/run = %+v, want mode 0755 owned by 100:102", got)
	}
}

func readTar(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[hdr.Name] = hdr
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
