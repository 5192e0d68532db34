package osb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// clientFor serves broker behind the real Handler and returns a client for it.
func clientFor(t *testing.T, broker Broker) *Client {
	t.Helper()
	h, err := Handler(testCatalog, creds, broker, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(h)
	t.Cleanup(server.Close)
	return &Client{URL: server.URL + "/", Basic: &creds}
}

func TestClientRoundTrips(t *testing.T) {
	ctx := context.Background()
	broker := &fakeBroker{}
	c := clientFor(t, broker)

	catalog, err := c.GetCatalog(ctx)
	if err != nil || len(catalog.Services) != 1 || catalog.Services[0].Plans[0].Name != "small" {
		t.Fatalf("catalog %+v, %v", catalog, err)
	}

	broker.resp = Response{Status: http.StatusAccepted, Body: OperationResponse{Operation: "op-1", DashboardURL: "http://d"}}
	identity := &Identity{Platform: "kubernetes", Value: map[string]any{"username": "alice"}}
	r, err := c.Provision(ctx, "i/1", &ProvisionRequest{ServiceID: "svc-1", PlanID: "plan-small", OrganizationGUID: "org-1", SpaceGUID: "space-1"},
		CallOptions{OriginatingIdentity: identity, RequestIdentity: "req-1"})
	if err != nil || !r.Async || r.Operation != "op-1" || r.DashboardURL != "http://d" {
		t.Fatalf("provision %+v, %v", r, err)
	}
	if got := broker.req; got.InstanceID != "i/1" || !got.AcceptsIncomplete || got.OriginatingIdentity.Value["username"] != "alice" || got.RequestIdentity != "req-1" {
		t.Errorf("the broker saw %+v", got)
	}

	broker.resp = Response{Status: http.StatusOK, Body: LastOperationResponse{State: StateInProgress, Description: "10%"}, RetryAfter: 3 * time.Second}
	lo, after, err := c.LastOperation(ctx, "i/1", OperationQuery{ServiceID: "svc-1", PlanID: "plan-small", Operation: "op-1"}, CallOptions{})
	if err != nil || lo.State != StateInProgress || after != 3*time.Second {
		t.Fatalf("last operation %+v after %s, %v", lo, after, err)
	}

	broker.resp = Response{Status: http.StatusCreated, Body: BindingResponse{Credentials: map[string]any{"password": "p"}}}
	r, err = c.Bind(ctx, "i/1", "b-1", &BindRequest{ServiceID: "svc-1", PlanID: "plan-small"}, CallOptions{})
	if err != nil || r.Async || r.Binding == nil || r.Binding.Credentials["password"] != "p" {
		t.Fatalf("bind %+v, %v", r, err)
	}

	broker.err = Errorf(http.StatusGone, "", "gone")
	if r, err := c.Deprovision(ctx, "i/1", "svc-1", "plan-small", CallOptions{}); err != nil || r.Status != http.StatusGone {
		t.Errorf("deprovision of a gone instance: %+v, %v (410 is success)", r, err)
	}
	if r, err := c.Unbind(ctx, "i/1", "b-1", "svc-1", "plan-small", CallOptions{}); err != nil || r.Status != http.StatusGone {
		t.Errorf("unbind of a gone binding: %+v, %v (410 is success)", r, err)
	}
}

// Each kind of failed answer is classified as the specification's platforms must treat it.
func TestClientClassifiesFailures(t *testing.T) {
	tests := []struct {
		name                 string
		handler              http.HandlerFunc
		wantStatus           int
		wantCode             string
		terminal, mitigation bool
		// down closes the server before the call: the connection is refused.
		down bool
	}{
		{"conflict", answer(409, `{"description":"other attributes"}`), 409, "", true, false, false},
		{"bad request", answer(400, `{"description":"bad"}`), 400, "", true, false, false},
		{"concurrency", answer(422, `{"error":"ConcurrencyError","description":"busy"}`), 422, ErrConcurrencyError, false, false, false},
		{"async required", answer(422, `{"error":"AsyncRequired"}`), 422, ErrAsyncRequired, true, false, false},
		{"server error", answer(500, `oops`), 500, "", false, true, false},
		{"malformed success", answer(201, `not json`), 201, "", false, true, false},
		{"unexpected success", answer(204, ``), 204, "", false, true, false},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }, 0, "", false, true, false},
		// The request never reached the broker: nothing to mitigate.
		{"connection refused", answer(201, `{}`), 0, "", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(tt.handler)
			defer server.Close()
			if tt.down {
				server.Close()
			}
			c := &Client{URL: server.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}
			_, err := c.Provision(context.Background(), "i", &ProvisionRequest{ServiceID: "s", PlanID: "p"}, CallOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if StatusCode(err) != tt.wantStatus || ErrorCode(err) != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q (%v)", StatusCode(err), ErrorCode(err), tt.wantStatus, tt.wantCode, err)
			}
			if IsTerminal(err) != tt.terminal || NeedsOrphanMitigation(err) != tt.mitigation {
				t.Errorf("terminal %v mitigation %v, want %v %v (%v)", IsTerminal(err), NeedsOrphanMitigation(err), tt.terminal, tt.mitigation, err)
			}
			var httpErr *HTTPError
			if tt.wantStatus != 0 && !errors.As(err, &httpErr) {
				t.Errorf("%T is not an *HTTPError", err)
			}
		})
	}
}

// A last_operation answer other than 200 with a valid state is an error whose status the
// controllers read: 404 (no such instance) and 410 (gone, after a deprovisioning) each
// mean something to them.
func TestClientLastOperationFailures(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		malformed  bool
	}{
		{"unknown state", answer(200, `{"state":"done"}`), 200, true},
		{"not found", answer(404, `{"description":"instance i does not exist"}`), 404, false},
		{"gone", answer(410, `{}`), 410, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(tt.handler)
			defer server.Close()
			c := &Client{URL: server.URL}
			_, _, err := c.LastOperation(context.Background(), "i", OperationQuery{}, CallOptions{})
			var httpErr *HTTPError
			if !errors.As(err, &httpErr) || httpErr.StatusCode != tt.wantStatus || httpErr.Malformed != tt.malformed {
				t.Fatalf("%v, want status %d, malformed %v", err, tt.wantStatus, tt.malformed)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for in, wantMin := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "x": 0, future: 59 * time.Minute} {
		if got := retryAfter(in); got < wantMin || (wantMin == 0 && got != 0) {
			t.Errorf("retryAfter(%q) = %s", in, got)
		}
	}
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}
