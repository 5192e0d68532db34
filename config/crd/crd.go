// Package crd embeds Kubia's CustomResourceDefinitions (generated into bases/ by
// `make generate`), so the binaries can install them.
package crd

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed bases/*.yaml
var bases embed.FS

// Manifests returns every CRD manifest, in file-name order.
func Manifests() ([][]byte, error) {
	names, err := fs.Glob(bases, "bases/*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		data, err := bases.ReadFile(path.Clean(name))
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}
