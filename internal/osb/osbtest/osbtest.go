// Package osbtest is a scriptable Open Service Broker for tests: served by osb.Handler
// (so requests are checked as a real broker would), it records every call and answers
// what the test's Answer function says.
package osbtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/go-logr/logr"

	"github.com/kubia-dev/kubia/internal/osb"
)

// Call is one request the broker got.
type Call struct {
	Method  string // Provision, Update, Deprovision, GetInstance, LastOperation, Bind, Unbind, GetBinding, BindingLastOperation
	Request osb.Request
	// Body is the request's decoded body (*osb.ProvisionRequest, ...), its IDs, or its
	// OperationQuery.
	Body any
}

// Broker answers each call with Answer, or with the default success when Answer is nil
// or returns an empty Response and no error: provision and bind 201 (bind with
// credentials), update, deprovision and unbind 200, fetches 200, last operations
// succeeded.
type Broker struct {
	mu     sync.Mutex
	calls  []Call
	answer func(Call) (osb.Response, error)
}

// SetAnswer replaces the answering function.
func (b *Broker) SetAnswer(f func(Call) (osb.Response, error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answer = f
}

// Calls returns the calls so far.
func (b *Broker) Calls() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.calls...)
}

// Methods returns the methods of the calls so far, in order.
func (b *Broker) Methods() []string {
	var out []string
	for _, c := range b.Calls() {
		out = append(out, c.Method)
	}
	return out
}

// Serve runs the broker for catalog behind creds until the test ends and returns its URL.
func Serve(t testing.TB, catalog osb.Catalog, creds osb.Credentials, b *Broker) string {
	t.Helper()
	h, err := osb.Handler(catalog, creds, b, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(h)
	t.Cleanup(server.Close)
	return server.URL
}

func (b *Broker) handle(method string, req *osb.Request, body any) (osb.Response, error) {
	call := Call{Method: method, Request: *req, Body: body}
	b.mu.Lock()
	b.calls = append(b.calls, call)
	answer := b.answer
	b.mu.Unlock()
	if answer != nil {
		resp, err := answer(call)
		if err != nil || resp.Status != 0 {
			return resp, err
		}
	}
	return defaultAnswer(method), nil
}

func defaultAnswer(method string) osb.Response {
	switch method {
	case "Provision":
		return osb.Response{Status: http.StatusCreated, Body: osb.OperationResponse{}}
	case "Bind":
		return osb.Response{Status: http.StatusCreated, Body: osb.BindingResponse{Credentials: map[string]any{"username": "u", "password": "p"}}}
	case "LastOperation", "BindingLastOperation":
		return osb.Response{Status: http.StatusOK, Body: osb.LastOperationResponse{State: osb.StateSucceeded}}
	}
	return osb.Response{Status: http.StatusOK, Body: struct{}{}}
}

func (b *Broker) Provision(_ context.Context, req *osb.Request, body *osb.ProvisionRequest) (osb.Response, error) {
	return b.handle("Provision", req, body)
}

func (b *Broker) Update(_ context.Context, req *osb.Request, body *osb.UpdateRequest) (osb.Response, error) {
	return b.handle("Update", req, body)
}

func (b *Broker) Deprovision(_ context.Context, req *osb.Request, ids osb.IDs) (osb.Response, error) {
	return b.handle("Deprovision", req, ids)
}

func (b *Broker) GetInstance(_ context.Context, req *osb.Request) (osb.Response, error) {
	return b.handle("GetInstance", req, nil)
}

func (b *Broker) LastOperation(_ context.Context, req *osb.Request, q osb.OperationQuery) (osb.Response, error) {
	return b.handle("LastOperation", req, q)
}

func (b *Broker) Bind(_ context.Context, req *osb.Request, body *osb.BindRequest) (osb.Response, error) {
	return b.handle("Bind", req, body)
}

func (b *Broker) Unbind(_ context.Context, req *osb.Request, ids osb.IDs) (osb.Response, error) {
	return b.handle("Unbind", req, ids)
}

func (b *Broker) GetBinding(_ context.Context, req *osb.Request) (osb.Response, error) {
	return b.handle("GetBinding", req, nil)
}

func (b *Broker) BindingLastOperation(_ context.Context, req *osb.Request, q osb.OperationQuery) (osb.Response, error) {
	return b.handle("BindingLastOperation", req, q)
}
