package gitsync

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// LoadAuth reads credentials from dir, where a Website's secretRef Secret is mounted:
// "username" and "password", or "token", for HTTP(S); "identity" (a private key) and
// "known_hosts" for SSH. It returns nil when dir is empty (public repositories).
func LoadAuth(dir string) (transport.AuthMethod, error) {
	if dir == "" {
		return nil, nil
	}
	read := func(name string) (string, bool, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		return strings.TrimRight(string(data), "\r\n"), err == nil, err
	}
	identity, ok, err := read("identity")
	if err != nil {
		return nil, err
	}
	if ok {
		return sshAuth(dir, identity)
	}
	if token, ok, err := read("token"); err != nil || ok {
		// Git hosts accept a token as the password of any non-empty user name.
		return &githttp.BasicAuth{Username: "kubia", Password: token}, err
	}
	username, okUser, err := read("username")
	if err != nil {
		return nil, err
	}
	password, okPass, err := read("password")
	if err != nil {
		return nil, err
	}
	if !okUser && !okPass {
		return nil, fmt.Errorf("no credentials in %s: the Website's secretRef names a Secret that is missing or has none of the keys token, username and password, identity and known_hosts", dir)
	}
	if !okUser || !okPass {
		return nil, fmt.Errorf("credentials in %s: need token, username and password, or identity and known_hosts", dir)
	}
	return &githttp.BasicAuth{Username: username, Password: password}, nil
}

func sshAuth(dir, identity string) (transport.AuthMethod, error) {
	keys, err := gitssh.NewPublicKeys("git", []byte(identity+"\n"), "")
	if err != nil {
		return nil, fmt.Errorf("ssh identity: %w", err)
	}
	// Never trust an unknown host key: known_hosts is required.
	callback, err := knownhosts.New(filepath.Join(dir, "known_hosts"))
	if err != nil {
		return nil, fmt.Errorf("ssh known_hosts (required with identity): %w", err)
	}
	keys.HostKeyCallback = callback
	return keys, nil
}
