// Command krew-package makes a krew release of the kubectl-create-website plugin in a
// directory (`make krew-package`): an archive per platform of deploy/krew/create-website.yaml
// and that template rendered into create-website.yaml with their sha256. Try it with
//
//	kubectl krew install --manifest=DIR/create-website.yaml --archive=DIR/ARCHIVE
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubia-dev/kubia/internal/krewpackage"
	"github.com/kubia-dev/kubia/internal/sourcetree"
)

func main() {
	tag := flag.String("tag", "", "the release's tag, a semantic version with a leading v (the plugin's version)")
	out := flag.String("out", "dist/krew", "directory for the archives and the manifest")
	flag.Parse()
	if err := run(*tag, *out); err != nil {
		fmt.Fprintln(os.Stderr, "krew-package:", err)
		os.Exit(1)
	}
}

func run(tag, out string) error {
	if tag == "" {
		return errors.New("-tag is required")
	}
	root, err := sourcetree.Root()
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rel, err := krewpackage.Package(root, tag, dir)
	if err != nil {
		return err
	}
	for _, p := range rel.Platforms {
		fmt.Printf("%s/%s: %s\n", p.OS, p.Arch, p.Archive)
	}
	fmt.Println("manifest:", rel.Manifest)
	return nil
}
