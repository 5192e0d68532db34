package gitsync_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kubia-dev/kubia/internal/gitsync"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
	"github.com/kubia-dev/kubia/test/gitserver"
)

func readSite(t *testing.T, root, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "html", file))
	if err != nil {
		t.Fatalf("reading the published %s: %v", file, err)
	}
	return string(data)
}

// Each kind of ref selects the right commit: HEAD, a branch, an annotated tag, a SHA.
func TestRefKinds(t *testing.T) {
	srv := gitserver.New(t, nil)
	repo := srv.Repo(t, "site")
	first := repo.Commit(t, map[string]string{"index.html": "v1"}, "first")
	repo.Tag(t, "v1")
	repo.Commit(t, map[string]string{"index.html": "v2"}, "second")
	repo.Branch(t, "preview")
	repo.Commit(t, map[string]string{"index.html": "preview"}, "preview")

	cases := map[string]struct {
		ref, want string
	}{
		"remote HEAD (main)": {"", "v2"},
		"branch":             {"preview", "preview"},
		"annotated tag":      {"v1", "v1"},
		"commit SHA":         {first, "v1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			s := &gitsync.Syncer{Repo: repo.URL, Ref: tc.ref, Root: root, Link: "html"}
			commit, changed, err := s.Sync(t.Context())
			if err != nil || !changed {
				t.Fatalf("Sync = %s, %v, %v", commit, changed, err)
			}
			if got := readSite(t, root, "index.html"); got != tc.want {
				t.Fatalf("published index.html = %q, want %q", got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(root, "html", ".git")); !os.IsNotExist(err) {
				t.Fatalf("the repository's .git is published (%v)", err)
			}
			if s.Published() != commit {
				t.Fatalf("Published() = %s, want %s", s.Published(), commit)
			}
		})
	}
}

// A new commit is published by swapping the link; the old revision's directory goes,
// and an unchanged remote publishes nothing.
func TestNewCommitSwapsLinkAtomically(t *testing.T) {
	srv := gitserver.New(t, nil)
	repo := srv.Repo(t, "site")
	repo.Commit(t, map[string]string{"index.html": "one"}, "one")
	root := t.TempDir()
	s := &gitsync.Syncer{Repo: repo.URL, Root: root, Link: "html"}
	first, _, err := s.Sync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := s.Sync(t.Context()); err != nil || changed {
		t.Fatalf("unchanged remote: changed=%v err=%v", changed, err)
	}

	second := repo.Commit(t, map[string]string{"index.html": "two", "new/page.html": "new"}, "two")
	commit, changed, err := s.Sync(t.Context())
	if err != nil || !changed || commit != second {
		t.Fatalf("Sync = %s, %v, %v; want %s", commit, changed, err, second)
	}
	if got := readSite(t, root, "new/page.html"); got != "new" {
		t.Fatalf("new/page.html = %q", got)
	}
	target, err := os.Readlink(filepath.Join(root, "html"))
	if err != nil || filepath.IsAbs(target) {
		t.Fatalf("link target %q (%v): must be relative, so it resolves wherever the volume is mounted", target, err)
	}
	if _, err := os.Stat(filepath.Join(root, ".revisions", first)); !os.IsNotExist(err) {
		t.Fatalf("the old revision is still there (%v)", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, ".revisions"))
	if len(entries) != 1 {
		t.Fatalf("revisions dir holds %d entries, want 1 (no leftover checkouts)", len(entries))
	}
}

func TestPrivateRepositoryNeedsCredentials(t *testing.T) {
	srv := gitserver.New(t, nil)
	srv.RequireBasicAuth("reader", "s3cret")
	repo := srv.Repo(t, "private")
	repo.Commit(t, map[string]string{"index.html": "private"}, "one")

	anonymous := &gitsync.Syncer{Repo: repo.URL, Root: t.TempDir(), Link: "html"}
	if _, _, err := anonymous.Sync(t.Context()); err == nil {
		t.Fatal("an anonymous sync of a private repository succeeded")
	}

	dir := t.TempDir()
	for name, content := range map[string]string{"username": "reader", "password": "s3cret\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	auth, err := gitsync.LoadAuth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if basic, ok := auth.(*githttp.BasicAuth); !ok || basic.Password != "s3cret" {
		t.Fatalf("LoadAuth = %#v; want basic auth with the trailing newline trimmed", auth)
	}
	root := t.TempDir()
	s := &gitsync.Syncer{Repo: repo.URL, Root: root, Link: "html", Auth: auth}
	if _, _, err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := readSite(t, root, "index.html"); got != "private" {
		t.Fatalf("index.html = %q", got)
	}
}

func TestLoadAuthKinds(t *testing.T) {
	cases := map[string]struct {
		files   map[string]string
		wantErr string
		wantPwd string
	}{
		"token":                  {files: map[string]string{"token": "ghp_abc"}, wantPwd: "ghp_abc"},
		"username and password":  {files: map[string]string{"username": "u", "password": "p"}, wantPwd: "p"},
		"password alone":         {files: map[string]string{"password": "p"}, wantErr: "need token"},
		"none of the keys":       {files: map[string]string{"ca.crt": "x"}, wantErr: "missing or has none of the keys"},
		"ssh identity, no hosts": {files: map[string]string{"identity": "not a key"}, wantErr: "ssh identity"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for file, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			auth, err := gitsync.LoadAuth(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if basic, ok := auth.(*githttp.BasicAuth); err != nil || !ok || basic.Password != tc.wantPwd {
				t.Fatalf("LoadAuth = %#v, %v", auth, err)
			}
		})
	}
}

// The runner keeps the last good revision when the remote fails, backs off, syncs at
// once on the webhook, and its endpoints answer in JSON.
func TestRunnerWebhookBackoffAndEndpoints(t *testing.T) {
	srv := gitserver.New(t, nil)
	repo := srv.Repo(t, "site")
	repo.Commit(t, map[string]string{"index.html": "one"}, "one")
	root := t.TempDir()
	s := &gitsync.Syncer{Repo: repo.URL, Root: root, Link: "html"}
	runner := gitsync.NewRunner(s, time.Hour) // only the webhook can cause a second sync
	api := httptest.NewServer(runner.Handler())
	defer api.Close()

	if code, _ := get(t, api.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz before the first sync = %d, want 503", code)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go runner.Run(ctx)
	waitFor(t, "the first sync", func() bool { code, _ := get(t, api.URL+"/healthz"); return code == http.StatusOK })

	second := repo.Commit(t, map[string]string{"index.html": "two"}, "two")
	resp, err := http.Post(api.URL+"/sync", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /sync = %v, %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, "the webhook's sync", func() bool { return s.Published() == second })

	// A remote that refuses: the published revision stays, the error is reported.
	srv.RequireBasicAuth("someone", "else")
	runner.Trigger()
	waitFor(t, "the failure to be reported", func() bool { return runner.Status().LastError != "" })
	if readSite(t, root, "index.html") != "two" || s.Published() != second {
		t.Fatal("a failed sync changed the published revision")
	}
	code, body := get(t, api.URL+"/status")
	var status syncstatus.Status
	if err := json.Unmarshal([]byte(body), &status); err != nil || code != http.StatusOK || status.LastError == "" || status.Commit != second {
		t.Fatalf("GET /status = %d %s (%v); want the error and the commit still served, %s", code, body, err, second)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/sync", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nothing", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, api.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		decodeErr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || decodeErr != nil || body["error"] == "" {
			t.Errorf("%s %s = %d, body %v (%v); want %d with a JSON error", tc.method, tc.path, resp.StatusCode, body, decodeErr, tc.want)
		}
	}
}

// After a failure the runner retries on its own, with backoff, long before the interval.
func TestRunnerRetriesWithBackoff(t *testing.T) {
	srv := gitserver.New(t, nil)
	repo := srv.Repo(t, "site")
	commit := repo.Commit(t, map[string]string{"index.html": "one"}, "one")
	srv.RequireBasicAuth("someone", "else")
	s := &gitsync.Syncer{Repo: repo.URL, Root: t.TempDir(), Link: "html"}
	runner := gitsync.NewRunner(s, time.Hour)
	runner.MinBackoff = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go runner.Run(ctx)
	waitFor(t, "the first failure", func() bool { return runner.Status().LastError != "" })
	srv.RequireBasicAuth("", "")
	waitFor(t, "a retry that succeeds without any trigger", func() bool { return s.Published() == commit })
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A failed sync's error hides the credentials, whether they are in the URL or in the
// Secret, in what Sync returns and in what /status reports.
func TestSyncErrorsHideCredentials(t *testing.T) {
	srv := gitserver.New(t, nil)
	srv.RequireBasicAuth("reader", "right")
	repo := srv.Repo(t, "private")
	repo.Commit(t, map[string]string{"index.html": "private"}, "one")
	withUserinfo := strings.Replace(repo.URL, "http://", "http://reader:url-pass-1@", 1)
	tokenAsUser := strings.Replace(repo.URL, "http://", "http://url-pass-1@", 1)
	cases := map[string]*gitsync.Syncer{
		"password in the URL":     {Repo: withUserinfo},
		"token as the URL's user": {Repo: tokenAsUser},
		"password in the Secret":  {Repo: repo.URL, Auth: &githttp.BasicAuth{Username: "reader", Password: "secret-pass-2"}},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			s.Root, s.Link = t.TempDir(), "html"
			_, _, err := s.Sync(t.Context())
			if err == nil {
				t.Fatal("a sync with wrong credentials succeeded")
			}
			runner := gitsync.NewRunner(s, time.Hour)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go runner.Run(ctx)
			waitFor(t, "the failure on /status", func() bool { return runner.Status().LastError != "" })
			for _, text := range []string{err.Error(), runner.Status().LastError} {
				if strings.Contains(text, "url-pass-1") || strings.Contains(text, "secret-pass-2") || !strings.Contains(text, "authentication required") {
					t.Errorf("error %q: want the cause without the password", text)
				}
			}
		})
	}
}

// The log says what a failed sync leaves served: nothing before the first revision, the
// last good one after it.
func TestRunnerLogsWhatIsServed(t *testing.T) {
	srv := gitserver.New(t, nil)
	repo := srv.Repo(t, "site")
	commit := repo.Commit(t, map[string]string{"index.html": "one"}, "one")
	srv.RequireBasicAuth("someone", "else")
	s := &gitsync.Syncer{Repo: repo.URL, Root: t.TempDir(), Link: "html"}
	runner := gitsync.NewRunner(s, 50*time.Millisecond)
	runner.MinBackoff = 10 * time.Millisecond
	var mu sync.Mutex
	var lines []string
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{})
	logged := func(text string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, line := range lines {
			if strings.Contains(line, text) {
				return true
			}
		}
		return false
	}
	ctx, cancel := context.WithCancel(logr.NewContext(t.Context(), log))
	defer cancel()
	go runner.Run(ctx)
	waitFor(t, "a failure logged before any revision", func() bool { return logged("no revision is published yet") })
	if logged("serving the last good revision") {
		t.Fatal("the log claims a last good revision before there is one")
	}
	srv.RequireBasicAuth("", "")
	waitFor(t, "the first revision", func() bool { return s.Published() == commit })
	srv.RequireBasicAuth("someone", "else")
	waitFor(t, "a failure logged while serving it", func() bool { return logged("serving the last good revision") })
	if status := runner.Status(); status.Commit != commit || status.LastError == "" {
		t.Fatalf("status %+v: want the served commit and the error", status)
	}
}

// Credentials are read at every sync: a Secret that is missing (its optional volume
// empty) is a sync error saying so, and once the kubelet fills the volume in the next
// sync works, without a restart.
func TestCredentialsDirIsReadAtEverySync(t *testing.T) {
	srv := gitserver.New(t, nil)
	srv.RequireBasicAuth("kubia", "tok-1")
	repo := srv.Repo(t, "private")
	commit := repo.Commit(t, map[string]string{"index.html": "private"}, "one")
	dir := t.TempDir()
	s := &gitsync.Syncer{Repo: repo.URL, Root: t.TempDir(), Link: "html", CredentialsDir: dir}
	if _, _, err := s.Sync(t.Context()); err == nil || !strings.Contains(err.Error(), "secretRef names a Secret that is missing") {
		t.Fatalf("Sync without credentials: %v; want an error naming the missing Secret", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("tok-1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Sync(t.Context()); err != nil || got != commit {
		t.Fatalf("Sync once the token is there = %s, %v; want %s", got, err, commit)
	}
}

// A remote that takes the connection and then says nothing fails the sync once the list
// timeout passes: reported and retried, not a sync that never ends.
func TestStalledRemoteTimesOut(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	s := &gitsync.Syncer{Repo: "http://" + listener.Addr().String() + "/site.git", Root: t.TempDir(), Link: "html",
		ListTimeout: 200 * time.Millisecond}
	began := time.Now()
	_, _, err = s.Sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "listing http://") {
		t.Fatalf("Sync against a stalled remote: %v; want a listing error", err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Fatalf("the sync took %s despite a 200ms list timeout", took)
	}
}
