package osb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/ptr"
)

var testCatalog = Catalog{Services: []Service{{
	Name: "db", ID: "svc-1", Description: "A database", Bindable: true,
	Plans: []Plan{
		{ID: "plan-small", Name: "small", Description: "Small", MaintenanceInfo: &MaintenanceInfo{Version: "1.0.0"},
			Schemas: &Schemas{
				ServiceInstance: &ServiceInstanceSchemas{Create: &InputParameters{Parameters: json.RawMessage(`{
					"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "additionalProperties": false,
					"properties": {"size": {"type": "integer", "minimum": 1}}}`)}},
			}},
		{ID: "plan-unbindable", Name: "unbindable", Description: "No bindings", Bindable: ptr.To(false)},
	},
}}}

// fakeBroker records the calls it gets and answers with resp or err.
type fakeBroker struct {
	calls []string
	req   *Request
	resp  Response
	err   error
	panic bool
}

func (f *fakeBroker) answer(name string, req *Request) (Response, error) {
	f.calls = append(f.calls, name)
	f.req = req
	if f.panic {
		panic("broken")
	}
	return f.resp, f.err
}

func (f *fakeBroker) Provision(_ context.Context, r *Request, _ *ProvisionRequest) (Response, error) {
	return f.answer("Provision", r)
}
func (f *fakeBroker) Update(_ context.Context, r *Request, _ *UpdateRequest) (Response, error) {
	return f.answer("Update", r)
}
func (f *fakeBroker) Deprovision(_ context.Context, r *Request, _ IDs) (Response, error) {
	return f.answer("Deprovision", r)
}
func (f *fakeBroker) GetInstance(_ context.Context, r *Request) (Response, error) {
	return f.answer("GetInstance", r)
}
func (f *fakeBroker) LastOperation(_ context.Context, r *Request, _ OperationQuery) (Response, error) {
	return f.answer("LastOperation", r)
}
func (f *fakeBroker) Bind(_ context.Context, r *Request, _ *BindRequest) (Response, error) {
	return f.answer("Bind", r)
}
func (f *fakeBroker) Unbind(_ context.Context, r *Request, _ IDs) (Response, error) {
	return f.answer("Unbind", r)
}
func (f *fakeBroker) GetBinding(_ context.Context, r *Request) (Response, error) {
	return f.answer("GetBinding", r)
}
func (f *fakeBroker) BindingLastOperation(_ context.Context, r *Request, _ OperationQuery) (Response, error) {
	return f.answer("BindingLastOperation", r)
}

var creds = Credentials{Username: "admin", Password: "s3cret"}

const (
	testInstancePath = "/v2/service_instances/i-1"
	testBindingPath  = testInstancePath + "/service_bindings/b-1"
	// platformGUIDs are the provision body's required organization_guid and space_guid.
	platformGUIDs = `"organization_guid":"org-1","space_guid":"space-1"`
	provisionOK   = `{"service_id":"svc-1","plan_id":"plan-small",` + platformGUIDs + `,"parameters":{"size":2}}`
)

// withGUIDs adds platformGUIDs to a provision body, so a test row shows only what it is about.
func withGUIDs(body string) string { return "{" + platformGUIDs + "," + body[1:] }

type call struct {
	method, path, body string
	header             map[string]string // replaces the defaults; "" deletes one
}

func (c call) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	r.SetBasicAuth(creds.Username, creds.Password)
	r.Header.Set(HeaderAPIVersion, "2.17")
	r.Header.Set("Content-Type", "application/json")
	for k, v := range c.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newHandler(t *testing.T, b Broker) http.Handler {
	t.Helper()
	h, err := Handler(testCatalog, creds, b, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Every request that the specification says to refuse is refused with its status, a
// JSON error body, and without reaching the broker.
func TestHandlerRefusesBadRequests(t *testing.T) {
	identity := "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`{"username":"alice"}`))
	tests := []struct {
		name     string
		call     call
		status   int
		code     string
		contains string
	}{
		{"no credentials", call{"GET", "/v2/catalog", "", map[string]string{"Authorization": ""}}, 401, "", "credentials"},
		{"wrong password", call{"GET", "/v2/catalog", "", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:nope"))}}, 401, "", "credentials"},
		{"no version", call{"GET", "/v2/catalog", "", map[string]string{HeaderAPIVersion: ""}}, 412, "", "2.13 to 2.17"},
		{"version too old", call{"GET", "/v2/catalog", "", map[string]string{HeaderAPIVersion: "2.12"}}, 412, "", "2.12"},
		{"version too new", call{"GET", "/v2/catalog", "", map[string]string{HeaderAPIVersion: "2.18"}}, 412, "", "2.18"},
		{"version 3", call{"GET", "/v2/catalog", "", map[string]string{HeaderAPIVersion: "3.0"}}, 412, "", "3.0"},
		{"version garbage", call{"GET", "/v2/catalog", "", map[string]string{HeaderAPIVersion: "latest"}}, 412, "", "latest"},
		{"unknown endpoint", call{"GET", "/v2/nothing", "", nil}, 404, "", "no such endpoint"},
		{"wrong method", call{"POST", testInstancePath, provisionOK, nil}, 405, "", "POST is not allowed"},
		{"malformed JSON", call{"PUT", testInstancePath, `{"service_id":`, nil}, 400, "", "not a valid JSON object"},
		{"JSON array body", call{"PUT", testInstancePath, `[]`, nil}, 400, "", "not a valid JSON object"},
		{"not JSON content type", call{"PUT", testInstancePath, provisionOK, map[string]string{"Content-Type": "text/plain"}}, 400, "", "Content-Type"},
		{"missing service_id", call{"PUT", testInstancePath, `{"plan_id":"plan-small"}`, nil}, 400, "", "service_id is required"},
		{"missing plan_id", call{"PUT", testInstancePath, `{"service_id":"svc-1"}`, nil}, 400, "", "plan_id is required"},
		{"unknown service", call{"PUT", testInstancePath, `{"service_id":"nope","plan_id":"plan-small"}`, nil}, 400, "", `service_id "nope"`},
		{"unknown plan", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"nope"}`, nil}, 400, "", `plan_id "nope"`},
		{"missing organization_guid", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","space_guid":"space-1"}`, nil}, 400, "", "organization_guid is required"},
		{"empty organization_guid", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","organization_guid":"","space_guid":"space-1"}`, nil}, 400, "", "organization_guid is required"},
		{"null organization_guid", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","organization_guid":null,"space_guid":"space-1"}`, nil}, 400, "", "organization_guid is required"},
		{"organization_guid not a string", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","organization_guid":7,"space_guid":"space-1"}`, nil}, 400, "", "organization_guid"},
		{"missing space_guid", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","organization_guid":"org-1"}`, nil}, 400, "", "space_guid is required"},
		{"empty space_guid", call{"PUT", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-small","organization_guid":"org-1","space_guid":""}`, nil}, 400, "", "space_guid is required"},
		{"parameter of wrong type", call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-small","parameters":{"size":"big"}}`), nil}, 400, "", "/size"},
		{"parameter below minimum", call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-small","parameters":{"size":0}}`), nil}, 400, "", "/size"},
		{"unknown parameter", call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-small","parameters":{"colour":"red"}}`), nil}, 400, "", "colour"},
		{"parameters to a plan without schema", call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-unbindable","parameters":{"a":1}}`), nil}, 400, "", "takes no"},
		{"maintenance_info conflict", call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-small","maintenance_info":{"version":"0.9.0"}}`), nil}, 422, ErrMaintenanceInfoConflict, "1.0.0"},
		{"accepts_incomplete not a boolean", call{"PUT", testInstancePath + "?accepts_incomplete=yes", provisionOK, nil}, 400, "", "accepts_incomplete"},
		{"malformed originating identity", call{"PUT", testInstancePath, provisionOK, map[string]string{HeaderOriginatingIdentity: "kubernetes"}}, 400, "", HeaderOriginatingIdentity},
		{"catalog with malformed originating identity", call{"GET", "/v2/catalog", "", map[string]string{HeaderOriginatingIdentity: "kubernetes"}}, 400, "", HeaderOriginatingIdentity},
		{"catalog with originating identity not base64", call{"GET", "/v2/catalog", "", map[string]string{HeaderOriginatingIdentity: "kubernetes %%%"}}, 400, "", "base64"},
		{"originating identity not base64", call{"PUT", testInstancePath, provisionOK, map[string]string{HeaderOriginatingIdentity: "kubernetes %%%"}}, 400, "", "base64"},
		{"originating identity not an object", call{"PUT", testInstancePath, provisionOK, map[string]string{HeaderOriginatingIdentity: "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`"x"`))}}, 400, "", "JSON object"},
		{"update to unknown plan", call{"PATCH", testInstancePath, `{"service_id":"svc-1","plan_id":"nope"}`, map[string]string{HeaderOriginatingIdentity: identity}}, 400, "", `plan_id "nope"`},
		{"update without service_id", call{"PATCH", testInstancePath, `{}`, nil}, 400, "", "service_id is required"},
		{"deprovision without query", call{"DELETE", testInstancePath, "", nil}, 400, "", "service_id and plan_id"},
		{"deprovision without plan_id", call{"DELETE", testInstancePath + "?service_id=svc-1", "", nil}, 400, "", "service_id and plan_id"},
		{"deprovision unknown plan", call{"DELETE", testInstancePath + "?service_id=svc-1&plan_id=nope", "", nil}, 400, "", `plan_id "nope"`},
		{"last_operation unknown service", call{"GET", testInstancePath + "/last_operation?service_id=nope", "", nil}, 400, "", `service_id "nope"`},
		{"last_operation plan without service", call{"GET", testInstancePath + "/last_operation?plan_id=plan-small", "", nil}, 400, "", "needs service_id"},
		{"bind unbindable plan", call{"PUT", testBindingPath, `{"service_id":"svc-1","plan_id":"plan-unbindable"}`, nil}, 400, "", "not bindable"},
		{"bind malformed", call{"PUT", testBindingPath, `nope`, nil}, 400, "", "not a valid JSON object"},
		{"bind parameters without schema", call{"PUT", testBindingPath, `{"service_id":"svc-1","plan_id":"plan-small","parameters":{"a":1}}`, nil}, 400, "", "takes no"},
		{"unbind without query", call{"DELETE", testBindingPath, "", nil}, 400, "", "service_id and plan_id"},
		{"binding last_operation unknown plan", call{"GET", testBindingPath + "/last_operation?service_id=svc-1&plan_id=nope", "", nil}, 400, "", `plan_id "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broker := &fakeBroker{}
			w := tt.call.do(t, newHandler(t, broker))
			body := assertJSONResponse(t, w, tt.status)
			var got ErrorResponse
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if got.Error != tt.code || !strings.Contains(got.Description, tt.contains) {
				t.Errorf("error %q %q, want code %q and a description containing %q", got.Error, got.Description, tt.code, tt.contains)
			}
			if len(broker.calls) > 0 {
				t.Errorf("the broker was called: %v", broker.calls)
			}
		})
	}
}

// Valid requests reach the broker method of their endpoint, whose answer is written
// as JSON with the request identity echoed.
func TestHandlerRoutesValidRequests(t *testing.T) {
	identity := "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`{"username":"alice","groups":["dev"]}`))
	tests := []struct {
		call   call
		method string
	}{
		{call{"PUT", testInstancePath + "?accepts_incomplete=true", provisionOK, nil}, "Provision"},
		{call{"PUT", testInstancePath, withGUIDs(`{"service_id":"svc-1","plan_id":"plan-small","maintenance_info":{"version":"1.0.0"},"unknown_field":1}`), nil}, "Provision"},
		{call{"PATCH", testInstancePath, `{"service_id":"svc-1","plan_id":"plan-unbindable"}`, nil}, "Update"},
		{call{"PATCH", testInstancePath, `{"service_id":"svc-1","parameters":{"anything":true}}`, nil}, "Update"},
		{call{"DELETE", testInstancePath + "?service_id=svc-1&plan_id=plan-small&accepts_incomplete=true", "", nil}, "Deprovision"},
		{call{"GET", testInstancePath, "", nil}, "GetInstance"},
		{call{"GET", testInstancePath + "/last_operation?service_id=svc-1&plan_id=plan-small&operation=op-1", "", nil}, "LastOperation"},
		{call{"GET", testInstancePath + "/last_operation", "", nil}, "LastOperation"},
		{call{"PUT", testBindingPath, `{"service_id":"svc-1","plan_id":"plan-small"}`, nil}, "Bind"},
		{call{"DELETE", testBindingPath + "?service_id=svc-1&plan_id=plan-small", "", nil}, "Unbind"},
		{call{"GET", testBindingPath, "", nil}, "GetBinding"},
		{call{"GET", testBindingPath + "/last_operation?operation=op-2", "", nil}, "BindingLastOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.call.path, func(t *testing.T) {
			broker := &fakeBroker{resp: Response{Status: http.StatusAccepted, Body: OperationResponse{Operation: "op-1"}}}
			tt.call.header = map[string]string{HeaderRequestIdentity: "req-42", HeaderOriginatingIdentity: identity}
			w := tt.call.do(t, newHandler(t, broker))
			body := assertJSONResponse(t, w, http.StatusAccepted)
			if len(broker.calls) != 1 || broker.calls[0] != tt.method {
				t.Fatalf("broker calls %v, want [%s]", broker.calls, tt.method)
			}
			if got := w.Header().Get(HeaderRequestIdentity); got != "req-42" {
				t.Errorf("request identity echoed as %q", got)
			}
			if id := broker.req.OriginatingIdentity; id == nil || id.Platform != "kubernetes" || id.Value["username"] != "alice" {
				t.Errorf("originating identity %+v", id)
			}
			if broker.req.InstanceID != "i-1" {
				t.Errorf("instance id %q", broker.req.InstanceID)
			}
			if strings.Contains(tt.call.path, "service_bindings") != (broker.req.BindingID == "b-1") {
				t.Errorf("binding id %q", broker.req.BindingID)
			}
			if strings.Contains(tt.call.path, "accepts_incomplete=true") != broker.req.AcceptsIncomplete {
				t.Errorf("accepts_incomplete %v", broker.req.AcceptsIncomplete)
			}
			if !strings.Contains(string(body), `"operation":"op-1"`) {
				t.Errorf("body %s", body)
			}
		})
	}
}

func TestHandlerWritesBrokerAnswers(t *testing.T) {
	tests := []struct {
		name       string
		broker     *fakeBroker
		status     int
		body       string
		retryAfter string
	}{
		{"empty body is {}", &fakeBroker{resp: Response{Status: http.StatusOK}}, 200, "{}", ""},
		{"retry after", &fakeBroker{resp: Response{Status: 200, Body: LastOperationResponse{State: StateInProgress}, RetryAfter: 1500 * time.Millisecond}},
			200, `{"state":"in progress"}`, "2"},
		{"spec error", &fakeBroker{err: Errorf(http.StatusUnprocessableEntity, ErrConcurrencyError, "busy")}, 422, `{"error":"ConcurrencyError","description":"busy"}`, ""},
		{"gone", &fakeBroker{err: Errorf(http.StatusGone, "", "no such instance")}, 410, `{"description":"no such instance"}`, ""},
		{"internal error hides its text", &fakeBroker{err: errors.New("password=hunter2 leaked")}, 500, `{"description":"internal error; the broker's log has the details"}`, ""},
		{"panic", &fakeBroker{panic: true}, 500, `{"description":"internal error"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call{"GET", testInstancePath + "/last_operation", "", nil}.do(t, newHandler(t, tt.broker))
			body := assertJSONResponse(t, w, tt.status)
			if strings.TrimSpace(string(body)) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestCatalogIsServed(t *testing.T) {
	tests := map[string]map[string]string{
		"oldest version":            {HeaderAPIVersion: "2.13"},
		"with originating identity": {HeaderOriginatingIdentity: "kubernetes " + base64.StdEncoding.EncodeToString([]byte(`{"username":"alice"}`))},
	}
	for name, header := range tests {
		t.Run(name, func(t *testing.T) {
			w := call{"GET", "/v2/catalog", "", header}.do(t, newHandler(t, &fakeBroker{}))
			body := assertJSONResponse(t, w, http.StatusOK)
			var got Catalog
			if err := json.Unmarshal(body, &got); err != nil || len(got.Services) != 1 || len(got.Services[0].Plans) != 2 {
				t.Fatalf("catalog %s: %v", body, err)
			}
		})
	}
}

func TestHandlerRejectsBrokenSchemas(t *testing.T) {
	broken := Catalog{Services: []Service{{ID: "s", Name: "s", Plans: []Plan{{ID: "p", Name: "p", Schemas: &Schemas{
		ServiceInstance: &ServiceInstanceSchemas{Create: &InputParameters{Parameters: json.RawMessage(`{"type": 12}`)}},
	}}}}}}
	if _, err := Handler(broken, creds, &fakeBroker{}, logr.Discard()); err == nil {
		t.Fatal("a catalog with an invalid schema was accepted")
	}
}

// assertJSONResponse checks the status and that the body is JSON, typed as such.
func assertJSONResponse(t *testing.T, w *httptest.ResponseRecorder, status int) []byte {
	t.Helper()
	body, _ := io.ReadAll(w.Body)
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if !json.Valid(body) {
		t.Errorf("body is not JSON: %s", body)
	}
	return body
}
