package osb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client speaks to one broker as a platform (the Service Catalog) does.
type Client struct {
	// URL is the broker's base URL (the part before /v2).
	URL string
	// HTTPClient carries the requests; its Timeout bounds each one.
	HTTPClient *http.Client
	// Basic, when set, is sent as HTTP basic authentication; Bearer as a bearer token.
	Basic  *Credentials
	Bearer string
}

// DefaultTimeout bounds a request when the HTTP client has no timeout: the
// specification's platforms commonly give up after 60 s.
const DefaultTimeout = 60 * time.Second

// CallOptions are a request's identities: the user the platform acts for (sent as
// X-Broker-API-Originating-Identity when not nil) and the request's own id.
type CallOptions struct {
	OriginatingIdentity *Identity
	RequestIdentity     string
}

// HTTPError is a broker's answer with a status the call did not expect, or a body that
// could not be read.
type HTTPError struct {
	StatusCode  int
	ErrorCode   string // the body's "error"
	Description string // the body's "description", or what was wrong with the answer
	// Malformed: the status was a success, but the body was not what the specification says.
	Malformed bool
}

func (e *HTTPError) Error() string {
	code := ""
	if e.ErrorCode != "" {
		code = " " + e.ErrorCode
	}
	return fmt.Sprintf("broker answered %d%s: %s", e.StatusCode, code, e.Description)
}

// StatusCode of err when it is an *HTTPError, else 0 (no answer: a timeout, a refused
// connection).
func StatusCode(err error) int {
	var h *HTTPError
	if errors.As(err, &h) {
		return h.StatusCode
	}
	return 0
}

// ErrorCode of err when it is an *HTTPError with one ("ConcurrencyError", ...).
func ErrorCode(err error) string {
	var h *HTTPError
	if errors.As(err, &h) {
		return h.ErrorCode
	}
	return ""
}

// NeedsOrphanMitigation tells, for a failed provision or bind, whether the broker may
// have created something the platform does not know of (the specification's orphan
// mitigation table): no answer (a timeout), a 5xx, a success status with a malformed
// body, or a success status other than the expected ones. Never after a 422
// ConcurrencyError, or any other 4xx, and not when the connection could not be made:
// then the request never reached the broker.
func NeedsOrphanMitigation(err error) bool {
	var h *HTTPError
	if !errors.As(err, &h) {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return false
		}
		return err != nil // no answer
	}
	return h.StatusCode >= 500 || h.Malformed || (h.StatusCode >= 200 && h.StatusCode < 300)
}

// IsTerminal tells whether retrying the same request cannot help: the broker refused it
// (400, 409, 410, 422 other than ConcurrencyError) rather than failed at it.
func IsTerminal(err error) bool {
	var h *HTTPError
	if !errors.As(err, &h) {
		return false
	}
	switch h.StatusCode {
	case http.StatusBadRequest, http.StatusConflict, http.StatusGone, http.StatusPreconditionFailed,
		http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	case http.StatusUnprocessableEntity:
		return h.ErrorCode != ErrConcurrencyError
	}
	return false
}

// GetCatalog fetches the broker's catalog.
func (c *Client) GetCatalog(ctx context.Context) (*Catalog, error) {
	var catalog Catalog
	if _, err := c.do(ctx, http.MethodGet, "/v2/catalog", nil, nil, CallOptions{}, &catalog, http.StatusOK); err != nil {
		return nil, err
	}
	if catalog.Services == nil {
		return nil, &HTTPError{StatusCode: http.StatusOK, Description: "the catalog has no services list", Malformed: true}
	}
	return &catalog, nil
}

// Result is a successful answer to provision, update, deprovision, bind or unbind.
type Result struct {
	// Status is the answer's status: 200, 201 or 202 (Async).
	Status int
	Async  bool
	// Operation is the broker's operation of an asynchronous answer.
	Operation    string
	DashboardURL string
	// Binding is the synchronous bind's body.
	Binding *BindingResponse
}

// Provision asks for an instance; accepts_incomplete is always sent.
func (c *Client) Provision(ctx context.Context, instanceID string, req *ProvisionRequest, opts CallOptions) (*Result, error) {
	return c.operation(ctx, http.MethodPut, instancePath(instanceID), req, nil, opts, http.StatusOK, http.StatusCreated, http.StatusAccepted)
}

// Update changes an instance's plan or parameters.
func (c *Client) Update(ctx context.Context, instanceID string, req *UpdateRequest, opts CallOptions) (*Result, error) {
	return c.operation(ctx, http.MethodPatch, instancePath(instanceID), req, nil, opts, http.StatusOK, http.StatusAccepted)
}

// Deprovision deletes an instance; 410 Gone counts as success (Status 410).
func (c *Client) Deprovision(ctx context.Context, instanceID, serviceID, planID string, opts CallOptions) (*Result, error) {
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	return c.operation(ctx, http.MethodDelete, instancePath(instanceID), nil, q, opts, http.StatusOK, http.StatusAccepted, http.StatusGone)
}

// LastOperation polls an instance's operation; the duration is the broker's Retry-After.
func (c *Client) LastOperation(ctx context.Context, instanceID string, q OperationQuery, opts CallOptions) (*LastOperationResponse, time.Duration, error) {
	return c.lastOperation(ctx, instancePath(instanceID)+"/last_operation", q, opts)
}

// Bind asks for credentials.
func (c *Client) Bind(ctx context.Context, instanceID, bindingID string, req *BindRequest, opts CallOptions) (*Result, error) {
	return c.operation(ctx, http.MethodPut, bindingPath(instanceID, bindingID), req, nil, opts, http.StatusOK, http.StatusCreated, http.StatusAccepted)
}

// Unbind revokes a binding; 410 Gone counts as success (Status 410).
func (c *Client) Unbind(ctx context.Context, instanceID, bindingID, serviceID, planID string, opts CallOptions) (*Result, error) {
	q := url.Values{"service_id": {serviceID}, "plan_id": {planID}}
	return c.operation(ctx, http.MethodDelete, bindingPath(instanceID, bindingID), nil, q, opts, http.StatusOK, http.StatusAccepted, http.StatusGone)
}

// GetBinding fetches a binding's credentials (after an asynchronous bind).
func (c *Client) GetBinding(ctx context.Context, instanceID, bindingID string, opts CallOptions) (*BindingResponse, error) {
	var b BindingResponse
	if _, err := c.do(ctx, http.MethodGet, bindingPath(instanceID, bindingID), nil, nil, opts, &b, http.StatusOK); err != nil {
		return nil, err
	}
	return &b, nil
}

// BindingLastOperation polls a binding's operation.
func (c *Client) BindingLastOperation(ctx context.Context, instanceID, bindingID string, q OperationQuery, opts CallOptions) (*LastOperationResponse, time.Duration, error) {
	return c.lastOperation(ctx, bindingPath(instanceID, bindingID)+"/last_operation", q, opts)
}

func instancePath(id string) string { return "/v2/service_instances/" + url.PathEscape(id) }

func bindingPath(instanceID, bindingID string) string {
	return instancePath(instanceID) + "/service_bindings/" + url.PathEscape(bindingID)
}

func (c *Client) lastOperation(ctx context.Context, path string, q OperationQuery, opts CallOptions) (*LastOperationResponse, time.Duration, error) {
	query := url.Values{}
	for key, value := range map[string]string{"service_id": q.ServiceID, "plan_id": q.PlanID, "operation": q.Operation} {
		if value != "" {
			query.Set(key, value)
		}
	}
	var lo LastOperationResponse
	header, err := c.do(ctx, http.MethodGet, path, nil, query, opts, &lo, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	switch lo.State {
	case StateInProgress, StateSucceeded, StateFailed:
	default:
		return nil, 0, &HTTPError{StatusCode: http.StatusOK, Description: fmt.Sprintf("last_operation state %q", lo.State), Malformed: true}
	}
	return &lo, retryAfter(header.Get("Retry-After")), nil
}

// retryAfter reads Retry-After: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func (c *Client) operation(ctx context.Context, method, path string, body any, query url.Values, opts CallOptions, expected ...int) (*Result, error) {
	if query == nil {
		query = url.Values{}
	}
	query.Set("accepts_incomplete", "true")
	var out struct {
		OperationResponse
		BindingResponse
	}
	header, err := c.do(ctx, method, path, body, query, opts, &out, expected...)
	if err != nil {
		return nil, err
	}
	r := &Result{Status: header.statusCode, Async: header.statusCode == http.StatusAccepted,
		Operation: out.Operation, DashboardURL: out.DashboardURL}
	if !r.Async && out.Credentials != nil {
		r.Binding = &out.BindingResponse
	}
	return r, nil
}

// answerHeader is an answer's header and status.
type answerHeader struct {
	http.Header
	statusCode int
}

// do sends a request and decodes a JSON answer of one of the expected statuses into
// out; any other answer is an *HTTPError.
func (c *Client) do(ctx context.Context, method, path string, body any, query url.Values, opts CallOptions, out any, expected ...int) (answerHeader, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return answerHeader{}, err
		}
		reader = bytes.NewReader(data)
	}
	u := strings.TrimSuffix(c.URL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reader)
	if err != nil {
		return answerHeader{}, err
	}
	c.setHeaders(req, body != nil, opts)
	httpClient := c.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return answerHeader{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return answerHeader{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	header := answerHeader{Header: resp.Header, statusCode: resp.StatusCode}
	for _, status := range expected {
		if resp.StatusCode != status {
			continue
		}
		if err := json.Unmarshal(data, out); err != nil {
			return header, &HTTPError{StatusCode: resp.StatusCode, Description: "the answer is not the expected JSON: " + err.Error(), Malformed: true}
		}
		return header, nil
	}
	var e ErrorResponse
	_ = json.Unmarshal(data, &e) // a broker's error body may be anything
	if e.Description == "" {
		e.Description = http.StatusText(resp.StatusCode)
	}
	return header, &HTTPError{StatusCode: resp.StatusCode, ErrorCode: e.Error, Description: e.Description}
}

func (c *Client) setHeaders(req *http.Request, hasBody bool, opts CallOptions) {
	req.Header.Set(HeaderAPIVersion, APIVersion)
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.Basic != nil:
		req.SetBasicAuth(c.Basic.Username, c.Basic.Password)
	case c.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
	if id := opts.OriginatingIdentity; id != nil {
		value, err := json.Marshal(id.Value)
		if err == nil {
			req.Header.Set(HeaderOriginatingIdentity, id.Platform+" "+base64.StdEncoding.EncodeToString(value))
		}
	}
	if opts.RequestIdentity != "" {
		req.Header.Set(HeaderRequestIdentity, opts.RequestIdentity)
	}
}
