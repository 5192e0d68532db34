package gitsync

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// Runner syncs every Interval, and at once when triggered (by the webhook); after a
// failure it retries with exponential backoff, capped at Interval, while the last good
// revision stays published.
type Runner struct {
	Syncer   *Syncer
	Interval time.Duration
	// MinBackoff is the first retry delay after a failure.
	MinBackoff time.Duration

	trigger chan struct{}
	mu      sync.Mutex
	state   syncstatus.Status
}

// NewRunner returns a runner for s.
func NewRunner(s *Syncer, interval time.Duration) *Runner {
	return &Runner{Syncer: s, Interval: interval, MinBackoff: time.Second, trigger: make(chan struct{}, 1)}
}

// Trigger asks for a sync now; triggers while one is pending coalesce.
func (r *Runner) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Status returns the current status. Its commit is the published one, which a restarted
// container finds in the volume before its first sync.
func (r *Runner) Status() syncstatus.Status {
	r.mu.Lock()
	state := r.state
	r.mu.Unlock()
	state.Commit = r.Syncer.Published()
	return state
}

// Run syncs until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx)
	backoff := r.MinBackoff
	for {
		wait := r.Interval
		commit, changed, err := r.Syncer.Sync(ctx)
		r.record(err)
		switch {
		case err != nil:
			logFailure(log, err, r.Syncer.Published(), backoff)
			wait, backoff = backoff, min(2*backoff, r.Interval)
		case changed:
			log.Info("Published a new revision", "commit", commit)
			backoff = r.MinBackoff
		default:
			backoff = r.MinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-r.trigger:
		case <-time.After(wait):
		}
	}
}

// logFailure says what a failed sync leaves served: the last good revision, or nothing.
func logFailure(log logr.Logger, err error, published string, retryIn time.Duration) {
	if published == "" {
		log.Error(err, "Sync failed; no revision is published yet, so the site is not served", "retryIn", retryIn)
		return
	}
	log.Error(err, "Sync failed; serving the last good revision", "retryIn", retryIn, "published", published)
}

// record keeps the outcome of a sync; Sync's errors are already redacted.
func (r *Runner) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.state.LastError = err.Error()
		return
	}
	r.state = syncstatus.Status{LastSync: time.Now().UTC()}
}

// Handler serves:
//   - GET /healthz: 200 once a revision is published (the readiness probe), else 503;
//   - POST /sync: the webhook a Git host calls on push: sync now (202);
//   - GET /status: the published commit and the last sync or error.
//
// Other requests get a 404 or 405 with a JSON error body.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+syncstatus.HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		if published := r.Syncer.Published(); published == "" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "waiting for the first sync"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "commit": r.Syncer.Published()})
	})
	mux.HandleFunc("POST "+syncstatus.WebhookPath, func(w http.ResponseWriter, _ *http.Request) {
		r.Trigger()
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "sync triggered"})
	})
	mux.HandleFunc("GET "+syncstatus.StatusPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.Status())
	})
	return withJSONErrors(mux)
}

// withJSONErrors answers requests mux has no route for (404, 405) with a JSON body.
func withJSONErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pattern := mux.Handler(req); pattern != "" {
			mux.ServeHTTP(w, req)
			return
		}
		rec := &statusRecorder{}
		mux.ServeHTTP(rec, req) // learn the status the mux would give (404 or 405)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeJSON(w, rec.status, map[string]string{"error": http.StatusText(rec.status), "path": req.URL.Path})
	})
}

// statusRecorder captures the status and headers of a response without writing it.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header {
	if s.header == nil {
		s.header = http.Header{}
	}
	return s.header
}
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.status = code }

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
