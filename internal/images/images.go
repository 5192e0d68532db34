// Package images builds container images without a registry or a Docker engine: layers
// are tar streams of files or directory trees, assembled with go-containerregistry and
// written as docker-archive tarballs that containerd imports. Equal inputs give equal
// images (fixed times, sorted entries), and archives are cached by their inputs.
package images

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Tag is the tag of every image Kubia builds. Pods refer to them with imagePullPolicy
// IfNotPresent or Never: there is no registry to pull from.
const Tag = "local"

// Ref returns the reference of Kubia's image called name, e.g. localhost/kubia/pause:local.
func Ref(name string) string { return "localhost/kubia/" + name + ":" + Tag }

// Image describes an image to build.
type Image struct {
	Name   string // short name; the image is tagged Ref(Name)
	Layers []Layer
	Config v1.Config
}

// Layer is one filesystem layer of an Image.
type Layer interface {
	// cacheKey identifies the layer's content without producing it.
	cacheKey() (string, error)
	write(w io.Writer) error
}

// FilesLayer is a layer holding the given files.
type FilesLayer []File

func (l FilesLayer) cacheKey() (string, error) {
	h := sha256.New()
	if err := writeFilesTar(h, l); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (l FilesLayer) write(w io.Writer) error { return writeFilesTar(w, l) }

// TreeLayer is a layer holding the directory tree at Root, except paths Skip selects.
// Key must change whenever the tree does (e.g. the inputs that produced it), so the
// tree need not be read to find a cached archive.
type TreeLayer struct {
	Root string
	Key  string
	Skip func(rel string) bool
}

func (l TreeLayer) cacheKey() (string, error) { return l.Key, nil }

func (l TreeLayer) write(w io.Writer) error {
	skip := l.Skip
	if skip == nil {
		skip = func(string) bool { return false }
	}
	return writeTreeTar(w, l.Root, skip)
}

// cacheKey identifies the archive of img by everything that goes into it.
func (img Image) cacheKey() (string, error) {
	h := sha256.New()
	cfg, err := json.Marshal(img.Config)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s\n%s\n", Ref(img.Name), cfg)
	for _, l := range img.Layers {
		key, err := l.cacheKey()
		if err != nil {
			return "", fmt.Errorf("image %s: %w", img.Name, err)
		}
		fmt.Fprintln(h, key)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Archive returns the path of img's docker-archive tarball in dir, building it only
// when no archive of the same inputs is there yet.
func Archive(dir string, img Image) (string, error) {
	key, err := img.cacheKey()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, img.Name+"-"+key+".tar")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating image cache: %w", err)
	}
	built, err := img.build()
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(Ref(img.Name))
	if err != nil {
		return "", fmt.Errorf("image %s: %w", img.Name, err)
	}
	partial := path + ".partial"
	if err := tarball.WriteToFile(partial, tag, built); err != nil {
		os.Remove(partial)
		return "", fmt.Errorf("writing image %s: %w", img.Name, err)
	}
	if err := os.Rename(partial, path); err != nil {
		return "", err
	}
	removeOlderArchives(dir, img.Name, path)
	return path, nil
}

// removeOlderArchives deletes the archives of earlier inputs of the image called name,
// so the cache holds one archive per image.
func removeOlderArchives(dir, name, keep string) {
	older, _ := filepath.Glob(filepath.Join(dir, name+"-"+strings.Repeat("[0-9a-f]", 16)+".tar"))
	for _, path := range older {
		if path != keep {
			os.Remove(path)
		}
	}
}

func (img Image) build() (v1.Image, error) {
	layers := make([]v1.Layer, 0, len(img.Layers))
	for _, l := range img.Layers {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			r, w := io.Pipe()
			go func() { w.CloseWithError(l.write(w)) }()
			return r, nil
		}, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			return nil, fmt.Errorf("image %s: layer: %w", img.Name, err)
		}
		layers = append(layers, layer)
	}
	withLayers, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	cfg, err := withLayers.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Config = "linux", runtime.GOARCH, img.Config
	cfg.Created = v1.Time{Time: epoch}
	return mutate.ConfigFile(withLayers, cfg)
}
