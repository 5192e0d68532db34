package images

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianSuite is the Debian release images are made from: the machine's own.
const debianSuite = "bookworm"

// aptSources are where the machine's apt configuration names its mirror.
var aptSources = []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"}

// DebianRootFS returns a Debian root filesystem holding packages (and their
// dependencies), made with debootstrap from the machine's apt mirror. It is cached in
// cacheDir by suite, mirror and package list, so it is made once; the returned key
// identifies its content. Needs root and Debian's debootstrap.
func DebianRootFS(cacheDir string, packages ...string) (dir, key string, err error) {
	mirror, err := aptMirror()
	if err != nil {
		return "", "", err
	}
	sorted := slices.Sorted(slices.Values(packages))
	sum := sha256.Sum256([]byte(debianSuite + "\n" + mirror + "\n" + strings.Join(sorted, ",")))
	key = hex.EncodeToString(sum[:])[:16]
	dir = filepath.Join(cacheDir, "rootfs", key)
	if _, err := os.Stat(filepath.Join(dir, ".kubia-complete")); err == nil {
		return dir, key, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", "", fmt.Errorf("debootstrap is not installed (make deps installs it): %w", err)
	}
	partial := dir + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return "", "", err
	}
	cmd := exec.Command("debootstrap", "--variant=minbase", "--include="+strings.Join(sorted, ","), debianSuite, partial, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("debootstrap %s: %w\n%s", strings.Join(sorted, ","), err, tail(out, 20))
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	if err := os.Rename(partial, dir); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ".kubia-complete"), nil, 0o644); err != nil {
		return "", "", err
	}
	return dir, key, nil
}

// aptMirror returns the Debian mirror the machine's apt uses for the main archive.
func aptMirror() (string, error) {
	for _, path := range aptSources {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			fields := strings.Fields(line)
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				return fields[1], nil
			case len(fields) >= 3 && fields[0] == "deb" && fields[2] == debianSuite:
				return fields[1], nil
			}
		}
	}
	return "", fmt.Errorf("no Debian mirror for %s found in %s", debianSuite, strings.Join(aptSources, " or "))
}

// skipDebianClutter leaves documentation, package caches and locales out of a layer.
func skipDebianClutter(rel string) bool {
	for _, prefix := range []string{"usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/",
		"var/cache/apt/", "var/lib/apt/lists/", "var/log/", "dev/", "proc/", "sys/", "run/", "tmp/", "debootstrap/"} {
		if strings.HasPrefix(rel+"/", prefix) && rel+"/" != prefix {
			return true
		}
	}
	return rel == ".kubia-complete"
}

// lookupUser returns the uid and gid of user in the rootfs's /etc/passwd.
func lookupUser(rootfs, user string) (int, int, error) {
	f, err := os.Open(filepath.Join(rootfs, "etc", "passwd"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Split(lines.Text(), ":")
		if len(fields) >= 4 && fields[0] == user {
			uid, err1 := strconv.Atoi(fields[2])
			gid, err2 := strconv.Atoi(fields[3])
			if err1 == nil && err2 == nil {
				return uid, gid, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("user %s not in %s/etc/passwd", user, rootfs)
}

func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
