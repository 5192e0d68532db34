package osb

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
)

// Broker implements the service broker's side of each endpoint. The Handler has
// already authenticated the request, checked its version, identities, ids, query
// parameters, body and parameters (against the plan's schemas), so a Broker deals with
// state only. It answers with a Response, or an *Error for the specification's error
// responses; any other error is a 500 whose text stays in the log.
type Broker interface {
	Provision(ctx context.Context, req *Request, body *ProvisionRequest) (Response, error)
	Update(ctx context.Context, req *Request, body *UpdateRequest) (Response, error)
	Deprovision(ctx context.Context, req *Request, ids IDs) (Response, error)
	GetInstance(ctx context.Context, req *Request) (Response, error)
	LastOperation(ctx context.Context, req *Request, q OperationQuery) (Response, error)
	Bind(ctx context.Context, req *Request, body *BindRequest) (Response, error)
	Unbind(ctx context.Context, req *Request, ids IDs) (Response, error)
	GetBinding(ctx context.Context, req *Request) (Response, error)
	BindingLastOperation(ctx context.Context, req *Request, q OperationQuery) (Response, error)
}

// Request is what every broker call knows about its HTTP request.
type Request struct {
	InstanceID, BindingID string
	// AcceptsIncomplete is the accepts_incomplete query parameter.
	AcceptsIncomplete bool
	// OriginatingIdentity is the user on whose behalf the platform acts, if it said.
	OriginatingIdentity *Identity
	// RequestIdentity is the platform's id of this request, if it sent one.
	RequestIdentity string
}

// Identity is a decoded X-Broker-API-Originating-Identity header.
type Identity struct {
	Platform string
	Value    map[string]any
}

// IDs are the service_id and plan_id query parameters of a DELETE.
type IDs struct{ ServiceID, PlanID string }

// OperationQuery is the query of a last_operation request.
type OperationQuery struct {
	ServiceID, PlanID, Operation string
}

// Response is a successful answer: its status and JSON body, and for last_operation
// an optional Retry-After.
type Response struct {
	Status     int
	Body       any
	RetryAfter time.Duration
}

// Error is an error response of the specification.
type Error struct {
	Status           int
	Code             string
	Description      string
	InstanceUsable   *bool
	UpdateRepeatable *bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
}

// Errorf makes an error response with a formatted description.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// Credentials are the HTTP basic-auth user and password every request must carry.
type Credentials struct{ Username, Password string }

// Supported API versions: 2.13 (the first with the request body fields this package
// reads) to 2.17.
const minMinorVersion, maxMinorVersion = 13, 17

// maxBodyBytes bounds request bodies; the specification's largest field, a JSON
// schema, is 64 kB.
const maxBodyBytes = 1 << 20

// Handler serves the broker's API for catalog. It answers every request with a JSON
// body and Content-Type application/json, errors included.
func Handler(catalog Catalog, creds Credentials, broker Broker, log logr.Logger) (http.Handler, error) {
	schemas, err := compileSchemas(catalog)
	if err != nil {
		return nil, err
	}
	h := &handler{catalog: catalog, index: indexCatalog(catalog), schemas: schemas, broker: broker}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/catalog", h.getCatalog)
	mux.HandleFunc("PUT /v2/service_instances/{instance_id}", h.provision)
	mux.HandleFunc("PATCH /v2/service_instances/{instance_id}", h.update)
	mux.HandleFunc("DELETE /v2/service_instances/{instance_id}", h.deprovision)
	mux.HandleFunc("GET /v2/service_instances/{instance_id}", h.getInstance)
	mux.HandleFunc("GET /v2/service_instances/{instance_id}/last_operation", h.lastOperation)
	mux.HandleFunc("PUT /v2/service_instances/{instance_id}/service_bindings/{binding_id}", h.bind)
	mux.HandleFunc("DELETE /v2/service_instances/{instance_id}/service_bindings/{binding_id}", h.unbind)
	mux.HandleFunc("GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}", h.getBinding)
	mux.HandleFunc("GET /v2/service_instances/{instance_id}/service_bindings/{binding_id}/last_operation", h.bindingLastOperation)
	return wrap(mux, creds, log), nil
}

type handler struct {
	catalog Catalog
	index   map[string]planRef
	schemas map[schemaKey]*compiledSchema
	broker  Broker
}

// planRef finds a plan of the catalog by "serviceID/planID", and a service by its id.
type planRef struct {
	service *Service
	plan    *Plan
}

func indexCatalog(c Catalog) map[string]planRef {
	index := map[string]planRef{}
	for i := range c.Services {
		s := &c.Services[i]
		index[s.ID] = planRef{service: s}
		for j := range s.Plans {
			index[s.ID+"/"+s.Plans[j].ID] = planRef{service: s, plan: &s.Plans[j]}
		}
	}
	return index
}

// lookup checks that serviceID is in the catalog and, unless planID is empty, that it
// is one of that service's plans.
func (h *handler) lookup(serviceID, planID string) (planRef, error) {
	if serviceID == "" {
		return planRef{}, Errorf(http.StatusBadRequest, "", "service_id is required")
	}
	svc, ok := h.index[serviceID]
	if !ok {
		return planRef{}, Errorf(http.StatusBadRequest, "", "service_id %q is not in the catalog", serviceID)
	}
	if planID == "" {
		return svc, nil
	}
	ref, ok := h.index[serviceID+"/"+planID]
	if !ok {
		return planRef{}, Errorf(http.StatusBadRequest, "", "plan_id %q is not a plan of service %q", planID, svc.service.Name)
	}
	return ref, nil
}

// requirePlan is lookup for bodies in which plan_id is required.
func (h *handler) requirePlan(serviceID, planID string) (planRef, error) {
	if planID == "" {
		return planRef{}, Errorf(http.StatusBadRequest, "", "plan_id is required")
	}
	return h.lookup(serviceID, planID)
}

// requirePlatformGUIDs checks the provision body's organization_guid and space_guid,
// which v2.17 deprecates in favour of context but still requires as non-empty strings.
func requirePlatformGUIDs(body *ProvisionRequest) error {
	for _, f := range []struct{ name, value string }{
		{"organization_guid", body.OrganizationGUID},
		{"space_guid", body.SpaceGUID},
	} {
		if f.value == "" {
			return Errorf(http.StatusBadRequest, "", "%s is required (a non-empty string)", f.name)
		}
	}
	return nil
}

// getCatalog serves the catalog. It takes no broker call, but its originating identity
// is checked like every other endpoint's.
func (h *handler) getCatalog(w http.ResponseWriter, r *http.Request) {
	if _, err := originatingIdentity(r); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.catalog)
}

func (h *handler) provision(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		body := &ProvisionRequest{}
		if err := decodeBody(r, body); err != nil {
			return Response{}, err
		}
		ref, err := h.requirePlan(body.ServiceID, body.PlanID)
		if err != nil {
			return Response{}, err
		}
		if err := requirePlatformGUIDs(body); err != nil {
			return Response{}, err
		}
		if err := h.checkMaintenanceInfo(ref, body.MaintenanceInfo); err != nil {
			return Response{}, err
		}
		if err := h.validateParameters(ref, schemaInstanceCreate, body.Parameters); err != nil {
			return Response{}, err
		}
		return h.broker.Provision(r.Context(), req, body)
	})
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		body := &UpdateRequest{}
		if err := decodeBody(r, body); err != nil {
			return Response{}, err
		}
		ref, err := h.lookup(body.ServiceID, body.PlanID)
		if err != nil {
			return Response{}, err
		}
		if err := h.checkMaintenanceInfo(ref, body.MaintenanceInfo); err != nil {
			return Response{}, err
		}
		if ref.plan != nil {
			if err := h.validateParameters(ref, schemaInstanceUpdate, body.Parameters); err != nil {
				return Response{}, err
			}
		}
		return h.broker.Update(r.Context(), req, body)
	})
}

func (h *handler) deprovision(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		ids, err := h.requiredIDs(r)
		if err != nil {
			return Response{}, err
		}
		return h.broker.Deprovision(r.Context(), req, ids)
	})
}

func (h *handler) getInstance(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) { return h.broker.GetInstance(r.Context(), req) })
}

func (h *handler) lastOperation(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		q, err := h.operationQuery(r)
		if err != nil {
			return Response{}, err
		}
		return h.broker.LastOperation(r.Context(), req, q)
	})
}

func (h *handler) bind(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		body := &BindRequest{}
		if err := decodeBody(r, body); err != nil {
			return Response{}, err
		}
		ref, err := h.requirePlan(body.ServiceID, body.PlanID)
		if err != nil {
			return Response{}, err
		}
		if !bindable(ref) {
			return Response{}, Errorf(http.StatusBadRequest, "", "plan %q is not bindable", ref.plan.Name)
		}
		if err := h.validateParameters(ref, schemaBindingCreate, body.Parameters); err != nil {
			return Response{}, err
		}
		return h.broker.Bind(r.Context(), req, body)
	})
}

func (h *handler) unbind(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		ids, err := h.requiredIDs(r)
		if err != nil {
			return Response{}, err
		}
		return h.broker.Unbind(r.Context(), req, ids)
	})
}

func (h *handler) getBinding(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) { return h.broker.GetBinding(r.Context(), req) })
}

func (h *handler) bindingLastOperation(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(req *Request) (Response, error) {
		q, err := h.operationQuery(r)
		if err != nil {
			return Response{}, err
		}
		return h.broker.BindingLastOperation(r.Context(), req, q)
	})
}

func bindable(ref planRef) bool {
	if ref.plan.Bindable != nil {
		return *ref.plan.Bindable
	}
	return ref.service.Bindable
}

// requiredIDs reads a DELETE's service_id and plan_id, both required and in the catalog.
func (h *handler) requiredIDs(r *http.Request) (IDs, error) {
	q := r.URL.Query()
	ids := IDs{ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id")}
	if ids.ServiceID == "" || ids.PlanID == "" {
		return IDs{}, Errorf(http.StatusBadRequest, "", "the query parameters service_id and plan_id are required")
	}
	_, err := h.lookup(ids.ServiceID, ids.PlanID)
	return ids, err
}

// operationQuery reads a last_operation query; service_id and plan_id are optional,
// but must be in the catalog when given.
func (h *handler) operationQuery(r *http.Request) (OperationQuery, error) {
	q := r.URL.Query()
	oq := OperationQuery{ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), Operation: q.Get("operation")}
	if oq.ServiceID != "" {
		if _, err := h.lookup(oq.ServiceID, oq.PlanID); err != nil {
			return OperationQuery{}, err
		}
	} else if oq.PlanID != "" {
		return OperationQuery{}, Errorf(http.StatusBadRequest, "", "plan_id needs service_id")
	}
	return oq, nil
}

func (h *handler) checkMaintenanceInfo(ref planRef, got *MaintenanceInfo) error {
	if got == nil || ref.plan == nil || ref.plan.MaintenanceInfo == nil || got.Version == ref.plan.MaintenanceInfo.Version {
		return nil
	}
	return Errorf(http.StatusUnprocessableEntity, ErrMaintenanceInfoConflict,
		"maintenance_info.version %q is not the catalog's %q: fetch the catalog again", got.Version, ref.plan.MaintenanceInfo.Version)
}

// serve parses what every instance and binding request shares, calls the broker and
// writes its answer.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, call func(*Request) (Response, error)) {
	req, err := parseRequest(r)
	if err == nil {
		var resp Response
		if resp, err = call(req); err == nil {
			if resp.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((resp.RetryAfter+time.Second-1)/time.Second)))
			}
			body := resp.Body
			if body == nil {
				body = struct{}{}
			}
			writeJSON(w, resp.Status, body)
			return
		}
	}
	writeError(w, r, err)
}

func parseRequest(r *http.Request) (*Request, error) {
	req := &Request{
		InstanceID:      r.PathValue("instance_id"),
		BindingID:       r.PathValue("binding_id"),
		RequestIdentity: r.Header.Get(HeaderRequestIdentity),
	}
	switch v := r.URL.Query().Get("accepts_incomplete"); v {
	case "", "false":
	case "true":
		req.AcceptsIncomplete = true
	default:
		return nil, Errorf(http.StatusBadRequest, "", "accepts_incomplete must be true or false, not %q", v)
	}
	id, err := originatingIdentity(r)
	if err != nil {
		return nil, err
	}
	req.OriginatingIdentity = id
	return req, nil
}

// originatingIdentity decodes the request's originating identity header; nil when it
// has none, a 400 when it is malformed.
func originatingIdentity(r *http.Request) (*Identity, error) {
	header := r.Header.Get(HeaderOriginatingIdentity)
	if header == "" {
		return nil, nil
	}
	id, err := parseIdentity(header)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "", "%s: %v", HeaderOriginatingIdentity, err)
	}
	return id, nil
}

// parseIdentity decodes "<platform> <base64 of a JSON object>".
func parseIdentity(header string) (*Identity, error) {
	platform, encoded, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || platform == "" || encoded == "" {
		return nil, errors.New(`want "<platform> <base64-encoded JSON object>"`)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, fmt.Errorf("value is not base64: %w", err)
	}
	id := &Identity{Platform: platform}
	if err := json.Unmarshal(data, &id.Value); err != nil || id.Value == nil {
		return nil, errors.New("value is not a base64-encoded JSON object")
	}
	return id, nil
}

// decodeBody reads a JSON object from the request body into v.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return Errorf(http.StatusBadRequest, "", "Content-Type must be application/json, not %q", ct)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return Errorf(http.StatusBadRequest, "", "reading the body: %v", err)
	}
	if len(data) > maxBodyBytes {
		return Errorf(http.StatusBadRequest, "", "the body is larger than %d bytes", maxBodyBytes)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Errorf(http.StatusBadRequest, "", "the body is not a valid JSON object: %v", err)
	}
	return nil
}

// wrap adds what every response needs: panics turned into 500s, the request identity
// echoed, authentication, the version check, JSON 404/405s, and a log line.
func wrap(mux *http.ServeMux, creds Credentials, log logr.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if id := r.Header.Get(HeaderRequestIdentity); id != "" {
			rec.Header().Set(HeaderRequestIdentity, id)
		}
		defer func() {
			if p := recover(); p != nil {
				log.Error(fmt.Errorf("panic: %v", p), "Request failed", "method", r.Method, "path", r.URL.Path)
				writeJSON(rec, http.StatusInternalServerError, ErrorResponse{Description: "internal error"})
			}
			log.V(1).Info("Request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"requestIdentity", r.Header.Get(HeaderRequestIdentity), "duration", time.Since(began))
		}()
		r = r.WithContext(logr.NewContext(r.Context(), log))
		if !authorized(r, creds) {
			rec.Header().Set("WWW-Authenticate", `Basic realm="kubia-broker"`)
			writeJSON(rec, http.StatusUnauthorized, ErrorResponse{Description: "valid HTTP basic credentials are required"})
			return
		}
		if err := checkVersion(r.Header.Get(HeaderAPIVersion)); err != nil {
			writeJSON(rec, http.StatusPreconditionFailed, ErrorResponse{Description: err.Error()})
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			writeRoutingError(rec, r, mux)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// writeRoutingError answers a request no route matches: 405 when the path exists with
// other methods, else 404, each with a JSON body (the mux's own are plain text).
func writeRoutingError(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := mux.Handler(probe); pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Description: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	writeJSON(w, http.StatusNotFound, ErrorResponse{Description: fmt.Sprintf("no such endpoint: %s", r.URL.Path)})
}

func authorized(r *http.Request, creds Credentials) bool {
	user, password, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(creds.Username)) == 1
	passwordOK := subtle.ConstantTimeCompare([]byte(password), []byte(creds.Password)) == 1
	return userOK && passwordOK
}

// checkVersion accepts "2.13" to "2.17".
func checkVersion(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	if v == "" || !ok || major != "2" || err != nil || n < minMinorVersion || n > maxMinorVersion {
		return fmt.Errorf("%s must be 2.%d to 2.%d, not %q", HeaderAPIVersion, minMinorVersion, maxMinorVersion, v)
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"description":"internal error: the response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// writeError answers with an *Error, or a 500 that keeps other errors' text (which may
// name internals) in the log only.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var osbErr *Error
	if errors.As(err, &osbErr) {
		writeJSON(w, osbErr.Status, ErrorResponse{Error: osbErr.Code, Description: osbErr.Description,
			InstanceUsable: osbErr.InstanceUsable, UpdateRepeatable: osbErr.UpdateRepeatable})
		return
	}
	logr.FromContextOrDiscard(r.Context()).Error(err, "Request failed", "method", r.Method, "path", r.URL.Path)
	writeJSON(w, http.StatusInternalServerError, ErrorResponse{Description: "internal error; the broker's log has the details"})
}
