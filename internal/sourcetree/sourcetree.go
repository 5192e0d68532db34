// Package sourcetree finds Kubia's source tree, for development tools and tests that
// build from it or read files in it (images of Kubia's commands, CRDs, the book's
// manifests beside the repository).
package sourcetree

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Root returns the root of the Go module the current directory is in.
func Root() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside Kubia's Go module; run from the repository")
	}
	return filepath.Dir(gomod), nil
}

// Path returns the path of rel (slash-separated) below the module root.
func Path(rel string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}
