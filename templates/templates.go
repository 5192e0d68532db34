// Package templates embeds Kubia's starter catalog: OpenShift Templates that run on the
// local node with the images Kubia builds, for namespace "openshift", OpenShift's
// namespace for shared templates.
package templates

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed *.yaml
var files embed.FS

// Namespace is where shared templates live, as on OpenShift.
const Namespace = "openshift"

// Manifests returns every template manifest, in file-name order.
func Manifests() ([][]byte, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		data, err := files.ReadFile(path.Clean(name))
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}
