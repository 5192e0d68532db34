// Package gitsync keeps a directory in sync with a Git repository, for Websites' sync
// sidecar (cmd/kubia-sync). Each new revision is checked out into a directory of its own
// and published by swapping a symlink, so a web server reading through the link never sees
// a half-written tree.
package gitsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// revisionsDir holds one directory per published revision, below the root.
const revisionsDir = ".revisions"

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Syncer publishes the files of Repo at Ref under Root, through the symlink Root/Link.
type Syncer struct {
	Repo string
	// Ref is a branch, a tag or a full commit SHA; empty means the remote's HEAD.
	Ref  string
	Root string
	Link string
	Auth transport.AuthMethod
	// CredentialsDir, when set, is read for Auth at every sync (see LoadAuth): the kubelet
	// updates a mounted Secret in place, so fixed credentials apply without a restart, and
	// wrong ones are a sync error like any other.
	CredentialsDir string
	// ListTimeout and CloneTimeout bound asking the remote for its refs and cloning a
	// revision (0: DefaultListTimeout, DefaultCloneTimeout): a remote that accepts the
	// connection and then stalls must be a failure that is reported and retried, not a
	// sync that never ends.
	ListTimeout, CloneTimeout time.Duration
}

// Default bounds of a sync's steps. Listing refs is one small exchange; a clone of a
// large site may take minutes.
const (
	DefaultListTimeout  = time.Minute
	DefaultCloneTimeout = 10 * time.Minute
)

// Published returns the commit the link currently points at, or "" before the first sync.
func (s *Syncer) Published() string {
	target, err := os.Readlink(filepath.Join(s.Root, s.Link))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// Sync publishes the commit Ref names if it is not the published one yet, and returns it.
// Its errors never show credentials: they are logged and reported on /status.
func (s *Syncer) Sync(ctx context.Context) (commit string, changed bool, err error) {
	commit, changed, err = s.sync(ctx)
	if err != nil {
		return "", false, &redactedError{err: err, text: syncstatus.Redact(err.Error(), s.secrets()...)}
	}
	return commit, changed, nil
}

func (s *Syncer) sync(ctx context.Context) (commit string, changed bool, err error) {
	if s.CredentialsDir != "" {
		if s.Auth, err = LoadAuth(s.CredentialsDir); err != nil {
			return "", false, err
		}
	}
	commit, ref, err := s.resolve(ctx)
	if err != nil {
		return "", false, err
	}
	if commit == s.Published() {
		return commit, false, nil
	}
	if err := s.publish(ctx, commit, ref); err != nil {
		return "", false, err
	}
	return commit, true, nil
}

// resolve asks the remote which commit Ref names, and under which full reference name,
// without fetching any objects.
func (s *Syncer) resolve(ctx context.Context) (string, plumbing.ReferenceName, error) {
	if fullSHA.MatchString(s.Ref) {
		return s.Ref, "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(s.ListTimeout, DefaultListTimeout))
	defer cancel()
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{s.Repo}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: s.Auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return "", "", fmt.Errorf("listing %s: %w", s.Repo, err)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, ref := range refs {
		byName[ref.Name()] = ref
	}
	for _, name := range s.candidates() {
		ref, ok := byName[name]
		if !ok {
			continue
		}
		if ref.Type() == plumbing.SymbolicReference { // HEAD
			if ref, ok = byName[ref.Target()]; !ok {
				continue
			}
		}
		name = ref.Name()
		// An annotated tag's peeled entry names the commit it tags.
		if peeled, ok := byName[plumbing.ReferenceName(string(name)+"^{}")]; ok {
			ref = peeled
		}
		return ref.Hash().String(), name, nil
	}
	return "", "", fmt.Errorf("%s has no branch or tag %q", s.Repo, s.Ref)
}

func (s *Syncer) candidates() []plumbing.ReferenceName {
	if s.Ref == "" {
		return []plumbing.ReferenceName{plumbing.HEAD}
	}
	return []plumbing.ReferenceName{plumbing.NewBranchReferenceName(s.Ref), plumbing.NewTagReferenceName(s.Ref)}
}

// publish checks commit (of ref) out into its own directory and points the link at it.
func (s *Syncer) publish(ctx context.Context, commit string, ref plumbing.ReferenceName) error {
	revisions := filepath.Join(s.Root, revisionsDir)
	if err := os.MkdirAll(revisions, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(revisions, ".checkout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone once renamed; cleans up after a failure
	if err := s.checkout(ctx, tmp, commit, ref); err != nil {
		return err
	}
	// The files are served, the repository's metadata must not be.
	if err := os.RemoveAll(filepath.Join(tmp, ".git")); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	dest := filepath.Join(revisions, commit)
	if err := os.RemoveAll(dest); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	previous := s.Published()
	if err := swapLink(filepath.Join(s.Root, s.Link), filepath.Join(revisionsDir, commit)); err != nil {
		return err
	}
	if previous != "" && previous != commit {
		return os.RemoveAll(filepath.Join(revisions, previous))
	}
	return nil
}

// checkout clones the repository into dir at commit: shallowly when ref is a branch or a
// tag (its tip is the commit), fully for a commit SHA (ref empty).
func (s *Syncer) checkout(ctx context.Context, dir, commit string, ref plumbing.ReferenceName) error {
	opts := &git.CloneOptions{URL: s.Repo, Auth: s.Auth, Tags: git.NoTags}
	if ref != "" {
		opts.Depth, opts.SingleBranch, opts.ReferenceName = 1, true, ref
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(s.CloneTimeout, DefaultCloneTimeout))
	defer cancel()
	repo, err := git.PlainCloneContext(ctx, dir, false, opts)
	if err != nil {
		return fmt.Errorf("cloning %s: %w", s.Repo, err)
	}
	head, err := repo.Head()
	if err != nil {
		return err
	}
	if head.Hash().String() == commit {
		return nil
	}
	// A moved branch between resolve and clone, or a commit SHA: check the commit out.
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(commit), Force: true}); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	return nil
}

// swapLink points link at target atomically: a new symlink renamed over the old one.
func swapLink(link, target string) error {
	tmp := link + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// secrets are the credentials' values that errors must not show.
func (s *Syncer) secrets() []string {
	if basic, ok := s.Auth.(*githttp.BasicAuth); ok {
		if basic.Password == "" || basic.Password == "x-oauth-basic" {
			// A token given as the user name, as Git hosts accept.
			return []string{basic.Username}
		}
		return []string{basic.Password}
	}
	return nil
}

// redactedError is an error whose text has its credentials hidden.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
