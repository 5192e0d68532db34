package images

import (
	"archive/tar"
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// dirMode marks a File as a directory.
const dirMode = fs.ModeDir

// File is one regular file, directory or symlink of a layer built from memory.
type File struct {
	// Path is absolute inside the image, e.g. "/etc/nginx/nginx.conf".
	Path string
	// Mode holds Unix permission bits (0o1777 includes the sticky bit), plus dirMode or
	// fs.ModeSymlink for a directory or a symlink.
	Mode fs.FileMode
	// Content is the file's bytes, or the target of a symlink.
	Content  []byte
	UID, GID int
}

// epoch is the modification time of every entry, so equal inputs give equal layers.
var epoch = time.Unix(0, 0).UTC()

// writeFilesTar writes files as a tar stream, in path order, with fixed times.
func writeFilesTar(w io.Writer, files []File) error {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	tw := tar.NewWriter(w)
	for _, f := range sorted {
		hdr := &tar.Header{
			Name: tarName(f.Path), Mode: int64(f.Mode & 0o7777), Uid: f.UID, Gid: f.GID, // Unix bits, incl. sticky
			ModTime: epoch, Format: tar.FormatPAX,
		}
		switch {
		case f.Mode&fs.ModeDir != 0:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case f.Mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, string(f.Content), 0o777
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Content); err != nil {
				return fmt.Errorf("writing %s: %w", f.Path, err)
			}
		}
	}
	return tw.Close()
}

// writeTreeTar writes the directory tree at root as a tar stream, in path order, with
// fixed times, keeping owners, modes, symlinks and hard links. Paths for which skip
// returns true are left out, with everything below them.
func writeTreeTar(w io.Writer, root string, skip func(rel string) bool) error {
	tw := tar.NewWriter(w)
	seen := map[inode]string{} // hard links: first path of each multiply-linked file
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		hdr, err := treeHeader(p, rel, info, seen)
		if err != nil || hdr == nil {
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, p); err != nil {
				return fmt.Errorf("writing %s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

type inode struct{ dev, ino uint64 }

func treeHeader(p, rel string, info fs.FileInfo, seen map[inode]string) (*tar.Header, error) {
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(p); err != nil {
			return nil, err
		}
	}
	switch {
	case info.Mode().IsRegular(), info.IsDir(), info.Mode()&fs.ModeSymlink != 0:
	default:
		return nil, nil // device nodes, sockets, pipes: the runtime provides /dev
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return nil, fmt.Errorf("header for %s: %w", rel, err)
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
	hdr.Uname, hdr.Gname, hdr.Format = "", "", tar.FormatPAX
	if id, nlink, ok := fileIdentity(info); ok && info.Mode().IsRegular() && nlink > 1 {
		if first, dup := seen[id]; dup {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			seen[id] = rel
		}
	}
	return hdr, nil
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// tarName turns an absolute image path into a tar entry name.
func tarName(p string) string {
	return path.Clean("/" + p)[1:]
}

// fileIdentity returns the device and inode of a file and its link count.
func fileIdentity(info fs.FileInfo) (inode, uint64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return inode{}, 0, false
	}
	return inode{dev: st.Dev, ino: st.Ino}, uint64(st.Nlink), true
}
