// Package crd embeds Kubia's CustomResourceDefinitions (generated into bases/ by
// `make generate`), so the binaries can install them.
package crd

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	"sigs.k8s.io/yaml"
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

// Name returns the metadata.name of a CRD manifest.
func Name(manifest []byte) (string, error) {
	var crd struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(manifest, &crd); err != nil {
		return "", fmt.Errorf("reading a CRD manifest: %w", err)
	}
	return crd.Metadata.Name, nil
}
