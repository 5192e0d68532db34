// Package htpasswd reads and writes htpasswd files of bcrypt hashes, the password store of
// OpenShift's HTPasswd identity provider that kubia-apiserver's login checks against and
// `kubia user add` writes. Only bcrypt is accepted: the older htpasswd schemes (MD5-crypt,
// SHA-1, crypt) are fast to brute-force, and a file holding them loses those users rather
// than their safety.
package htpasswd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// SecretKey is the key of the htpasswd file in its Secret, as on OpenShift.
const SecretKey = "htpasswd"

// File is an htpasswd file: user names and the bcrypt hashes of their passwords.
type File struct {
	hashes map[string][]byte
}

// Parse reads an htpasswd file. Blank lines and lines starting with '#' are skipped; a
// line whose hash is not bcrypt is left out and its user named in ignored, so the caller
// can log who cannot log in and why.
func Parse(data []byte) (f *File, ignored []string) {
	f = &File{hashes: map[string][]byte{}}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			continue
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			ignored = append(ignored, name)
			continue
		}
		f.hashes[name] = []byte(hash)
	}
	return f, ignored
}

// dummyHash is compared with when a user is not in the file, so that a login for an
// unknown user costs as much as one with a wrong password: response times do not tell
// which user names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no user has this password"), bcrypt.DefaultCost)

// compare is bcrypt's comparison (a variable for the tests that count comparisons).
var compare = bcrypt.CompareHashAndPassword

// Authenticate tells whether password is user's. bcrypt's comparison is constant-time in
// the password, and an unknown user is compared with a dummy hash of the same cost.
func (f *File) Authenticate(user, password string) bool {
	hash, known := f.hashes[user]
	if !known {
		hash = dummyHash
	}
	return compare(hash, []byte(password)) == nil && known
}

// Has tells whether user is in the file.
func (f *File) Has(user string) bool {
	_, ok := f.hashes[user]
	return ok
}

// Users are the file's user names, sorted.
func (f *File) Users() []string {
	out := make([]string, 0, len(f.hashes))
	for name := range f.hashes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Set sets user's password, hashed with bcrypt.
func (f *File) Set(user, password string) error {
	if err := ValidUser(user); err != nil {
		return err
	}
	if password == "" {
		return errors.New("the password is empty")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hashing the password: %w", err)
	}
	f.hashes[user] = hash
	return nil
}

// Remove removes user; it tells whether they were there.
func (f *File) Remove(user string) bool {
	_, ok := f.hashes[user]
	delete(f.hashes, user)
	return ok
}

// Bytes is the file, one "user:hash" line per user, sorted by name.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, name := range f.Users() {
		fmt.Fprintf(&b, "%s:%s\n", name, f.hashes[name])
	}
	return b.Bytes()
}

// ValidUser checks that name can be a line's user: not empty, no ':' (the separator), no
// whitespace or control characters (which would split or hide a line).
func ValidUser(name string) error {
	if name == "" {
		return errors.New("the user name is empty")
	}
	for _, r := range name {
		if r == ':' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("user name %q may not contain ':', spaces or control characters", name)
		}
	}
	return nil
}
