// Package osbtest is a scriptable Open Service Broker for tests: served by osb.Handler
// (so requests are checked as a real broker would), it records every call and answers
// what the test's Answer function says.
package osbtest

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/osb"
	"github.com/kubia-dev/kubia/internal/pgbroker"
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
	// server serves the broker on addr (set by Serve).
	server  *http.Server
	handler http.Handler
	addr    string
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

// CallsOf returns the calls of method so far.
func (b *Broker) CallsOf(method string) []Call {
	var of []Call
	for _, c := range b.Calls() {
		if c.Method == method {
			of = append(of, c)
		}
	}
	return of
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.handler, b.addr = h, ln.Addr().String()
	b.mu.Unlock()
	b.serve(ln)
	t.Cleanup(b.Stop)
	return "http://" + b.addr
}

func (b *Broker) serve(ln net.Listener) {
	server := &http.Server{Handler: b.handler, ReadHeaderTimeout: 10 * time.Second}
	b.mu.Lock()
	b.server = server
	b.mu.Unlock()
	go func() { _ = server.Serve(ln) }()
}

// Stop takes the broker down: connections to its address are refused until Start.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.server != nil {
		_ = b.server.Close()
	}
}

// Start brings a stopped broker back on its address.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	// The port was free a moment ago, but another socket of this machine may take it
	// meanwhile, for a while.
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ln, err = net.Listen("tcp", b.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("listening on the broker's address again: %v", err)
	}
	b.serve(ln)
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

// PostgresCatalog is kubia-broker's catalog with its service renamed (and its ids made
// unique), so tests sharing a cluster each get their own class and plans.
func PostgresCatalog(service string) osb.Catalog {
	catalog := pgbroker.Catalog()
	catalog.Services[0].Name = service
	catalog.Services[0].ID = "id-" + service
	for i := range catalog.Services[0].Plans {
		catalog.Services[0].Plans[i].ID += "-" + service
	}
	return catalog
}

// Register serves b with catalog and registers it as the ClusterServiceBroker name, with
// its credentials in a Secret of ns; both go when the test ends.
func Register(t testing.TB, c client.Client, ns, name string, catalog osb.Catalog, b *Broker) *sc.ClusterServiceBroker {
	t.Helper()
	creds := osb.Credentials{Username: "platform", Password: "secret-" + name}
	url := Serve(t, catalog, creds, b)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-auth", Namespace: ns},
		StringData: map[string]string{"username": creds.Username, "password": creds.Password}}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	broker := &sc.ClusterServiceBroker{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: sc.ClusterServiceBrokerSpec{URL: url, AuthInfo: &sc.AuthInfo{Basic: &sc.BasicAuthConfig{
			SecretRef: sc.ObjectReference{Namespace: ns, Name: secret.Name}}}}}
	if err := c.Create(context.Background(), broker); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), broker) })
	return broker
}
