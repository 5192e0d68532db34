package images

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubia-dev/kubia/internal/sourcetree"
)

// nonRoot is the user Kubia's own images run as ("nobody" on Debian).
const nonRoot = "65534:65534"

// caBundle is the machine's CA certificates (Debian's ca-certificates), which Kubia's
// images carry so their programs can verify TLS servers.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// Command is the image of one of Kubia's commands (./cmd/<name> of the module at
// moduleDir): the static binary as /<name> on an empty base with CA certificates,
// running as a non-root user.
func Command(moduleDir, name string) (Image, error) {
	return Program(moduleDir, "./cmd/"+name, name)
}

// Program is the image of Go package pkg (a main) of the module at moduleDir, shaped like
// Command's: the static binary as /<name>, CA certificates, a non-root user. Tests build
// their own servers with it.
func Program(moduleDir, pkg, name string) (Image, error) {
	binary, err := GoBinary(moduleDir, pkg)
	if err != nil {
		return Image{}, err
	}
	certs, err := os.ReadFile(caBundle)
	if err != nil {
		return Image{}, fmt.Errorf("CA certificates for image %s (Debian package ca-certificates): %w", name, err)
	}
	return Image{
		Name: name,
		Layers: []Layer{FilesLayer{
			{Path: "/" + name, Mode: 0o755, Content: binary},
			{Path: caBundle, Mode: 0o644, Content: certs},
		}},
		Config: v1.Config{Entrypoint: []string{"/" + name}, User: nonRoot},
	}, nil
}

// Pause is the pod sandbox image, from cmd/kubia-pause.
func Pause(moduleDir string) (Image, error) {
	img, err := Command(moduleDir, "kubia-pause")
	img.Name = "pause"
	return img, err
}

// Sync is the Websites' Git sync sidecar, cmd/kubia-sync of the module the current
// directory is in. Its signature is a Builder's.
func Sync(string) (Image, error) {
	return sourceCommand("kubia-sync")
}

// ControllerManager is kubia-controller-manager, which the Helm chart runs. Its signature
// is a Builder's.
func ControllerManager(string) (Image, error) {
	return sourceCommand("kubia-controller-manager")
}

// Broker is kubia-broker, the Open Service Broker the Helm chart runs. Its signature is a
// Builder's.
func Broker(string) (Image, error) {
	return sourceCommand("kubia-broker")
}

// APIServer is kubia-apiserver, which the Helm chart runs in aggregated mode. Its
// signature is a Builder's.
func APIServer(string) (Image, error) {
	return sourceCommand("kubia-apiserver")
}

// sourceCommand is the image of ./cmd/<name> of the module the current directory is in.
func sourceCommand(name string) (Image, error) {
	root, err := sourcetree.Root()
	if err != nil {
		return Image{}, err
	}
	return Command(root, name)
}

// CoreDNS is the cluster DNS server, from the coredns binary in binDir.
func CoreDNS(binDir string) (Image, error) {
	binary, err := os.ReadFile(filepath.Join(binDir, "coredns"))
	if err != nil {
		return Image{}, fmt.Errorf("coredns binary (run `make kube-binaries`): %w", err)
	}
	return Image{
		Name:   "coredns",
		Layers: []Layer{FilesLayer{{Path: "/coredns", Mode: 0o755, Content: binary}}},
		Config: v1.Config{
			Entrypoint:   []string{"/coredns"},
			User:         nonRoot,
			ExposedPorts: map[string]struct{}{"53/udp": {}, "53/tcp": {}},
		},
	}, nil
}

// Etcd is kubia-apiserver's own etcd: hack/kube's etcd (the version kube-apiserver's
// etcd is), built static for the empty base (the node's binary is built with cgo). Its
// signature is a Builder's.
func Etcd(string) (Image, error) {
	root, err := sourcetree.Root()
	if err != nil {
		return Image{}, err
	}
	binary, err := GoBinary(filepath.Join(root, "hack", "kube"), "./cmd/etcd")
	if err != nil {
		return Image{}, fmt.Errorf("etcd for its image: %w", err)
	}
	return Image{
		Name:   "etcd",
		Layers: []Layer{FilesLayer{{Path: "/etcd", Mode: 0o755, Content: binary}}},
		Config: v1.Config{
			Entrypoint:   []string{"/etcd"},
			User:         nonRoot,
			ExposedPorts: map[string]struct{}{"2379/tcp": {}, "2380/tcp": {}, "2381/tcp": {}},
		},
	}, nil
}

// GoBinary builds package pkg of the module at moduleDir as a static Linux binary and
// returns it. The go command's build cache makes repeated builds cheap.
func GoBinary(moduleDir, pkg string) ([]byte, error) {
	out, err := os.MkdirTemp("", "kubia-gobuild-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	binary := filepath.Join(out, "bin")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return os.ReadFile(binary)
}

// NodeImages are the images every node needs: the pod sandbox and cluster DNS.
func NodeImages(moduleDir, binDir string) ([]Image, error) {
	pause, err := Pause(moduleDir)
	if err != nil {
		return nil, err
	}
	coredns, err := CoreDNS(binDir)
	if err != nil {
		return nil, err
	}
	return []Image{pause, coredns}, nil
}

// lockCache takes an exclusive lock on the cache directory, waiting for other holders:
// test binaries run in parallel, and two builds of one root filesystem or archive would
// write over each other.
func lockCache(cacheDir string) (func(), error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating image cache: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(cacheDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening image cache lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking image cache: %w", err)
	}
	return func() { f.Close() }, nil
}

// Builder describes an image whose inputs live in the cache, like Nginx and PostgreSQL.
type Builder func(cacheDir string) (Image, error)

// NodeArchives builds (or finds cached in DefaultCacheDir) the archives of the node's own
// images, from the module the current directory is in and the binaries in binDir, and of
// the extra images.
func NodeArchives(binDir string, extra ...Builder) ([]string, error) {
	moduleDir, err := sourcetree.Root()
	if err != nil {
		return nil, err
	}
	cacheDir, err := DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	unlock, err := lockCache(cacheDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	imgs, err := NodeImages(moduleDir, binDir)
	if err != nil {
		return nil, err
	}
	for _, build := range extra {
		img, err := build(cacheDir)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return Archives(cacheDir, imgs...)
}

// Archives builds (or finds cached in cacheDir) the archive of each image.
func Archives(cacheDir string, imgs ...Image) ([]string, error) {
	paths := make([]string, 0, len(imgs))
	for _, img := range imgs {
		path, err := Archive(cacheDir, img)
		if err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// DefaultCacheDir is where image archives are cached: ${XDG_CACHE_HOME:-~/.cache}/kubia/images.
func DefaultCacheDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the cache directory for images: %w", err)
	}
	return filepath.Join(cache, "kubia", "images"), nil
}
