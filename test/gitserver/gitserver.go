// Package gitserver is an in-process Git HTTP server for tests: real repositories served
// by `git http-backend` (Git's smart HTTP protocol), optionally behind basic auth, so
// tests never reach the internet.
package gitserver

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kubia-dev/kubia/internal/localcluster"
)

// Server serves every repository created with Repo under URL/<name>.git.
type Server struct {
	URL  string
	root string
	mu   sync.Mutex
	// user and password, when set, are required from every client.
	user, password string
}

// OnNode starts a server on the local node's address, where pods reach it, until the
// test ends.
func OnNode(t testing.TB) *Server {
	t.Helper()
	listener, err := net.Listen("tcp", net.JoinHostPort(localcluster.DefaultNodeIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return New(t, listener)
}

// New starts a server on listener (nil: a free port on 127.0.0.1) until the test ends.
func New(t testing.TB, listener net.Listener) *Server {
	t.Helper()
	backend, err := gitExecPath()
	if err != nil {
		t.Fatalf("git http-backend: %v", err)
	}
	s := &Server{root: t.TempDir()}
	handler := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		user, password := s.user, s.password
		s.mu.Unlock()
		if user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		handler.ServeHTTP(w, r)
	}))
	if listener != nil {
		srv.Listener.Close()
		srv.Listener = listener
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RequireBasicAuth makes the server demand these credentials; an empty user lifts it.
func (s *Server) RequireBasicAuth(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

func gitExecPath() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"), nil
}

// Repo is a repository on the server with a working copy to commit from.
type Repo struct {
	URL        string
	bare, work string
}

// Repo creates an empty repository called name (served at URL/name.git) whose default
// branch is main.
func (s *Server) Repo(t testing.TB, name string) *Repo {
	t.Helper()
	r := &Repo{URL: s.URL + "/" + name + ".git", bare: filepath.Join(s.root, name+".git"), work: t.TempDir()}
	git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	git(t, "", "init", "--quiet", "--initial-branch=main", r.work)
	return r
}

// Commit writes files (path → content) in the working copy, commits them on the current
// branch, pushes it, and returns the new commit's SHA.
func (r *Repo) Commit(t testing.TB, files map[string]string, message string) string {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(r.work, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, r.work, "add", "--all")
	git(t, r.work, "-c", "user.name=Kubia Test", "-c", "user.email=test@kubia.invalid", "commit", "--quiet", "-m", message)
	git(t, r.work, "push", "--quiet", r.bare, "HEAD")
	return strings.TrimSpace(git(t, r.work, "rev-parse", "HEAD"))
}

// Branch switches the working copy to a new branch; later commits go there.
func (r *Repo) Branch(t testing.TB, name string) {
	t.Helper()
	git(t, r.work, "checkout", "--quiet", "-b", name)
}

// Tag creates an annotated tag at the current commit and pushes it.
func (r *Repo) Tag(t testing.TB, name string) {
	t.Helper()
	git(t, r.work, "-c", "user.name=Kubia Test", "-c", "user.email=test@kubia.invalid", "tag", "-a", name, "-m", name)
	git(t, r.work, "push", "--quiet", r.bare, "refs/tags/"+name)
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
