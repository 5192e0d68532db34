// Package osb holds the Open Service Broker API v2.17 on the wire: the request and
// response bodies, the error codes, and an HTTP handler that checks what the
// specification asks of every request (version, authentication, identities, query
// parameters, bodies) before a Broker sees it. Brokers (cmd/kubia-broker) and the
// Service Catalog's client share these types.
package osb

import "encoding/json"

// APIVersion is the version of the specification this package speaks.
const APIVersion = "2.17"

// Headers of the specification.
const (
	HeaderAPIVersion          = "X-Broker-API-Version"
	HeaderOriginatingIdentity = "X-Broker-API-Originating-Identity"
	HeaderRequestIdentity     = "X-Broker-API-Request-Identity"
)

// Error codes the specification defines for 422 responses.
const (
	ErrAsyncRequired           = "AsyncRequired"
	ErrConcurrencyError        = "ConcurrencyError"
	ErrRequiresApp             = "RequiresApp"
	ErrMaintenanceInfoConflict = "MaintenanceInfoConflict"
)

// States of a last_operation response.
const (
	StateInProgress = "in progress"
	StateSucceeded  = "succeeded"
	StateFailed     = "failed"
)

// Catalog is the body of GET /v2/catalog.
type Catalog struct {
	Services []Service `json:"services"`
}

// Service is a Service Offering.
type Service struct {
	Name                 string         `json:"name"`
	ID                   string         `json:"id"`
	Description          string         `json:"description"`
	Tags                 []string       `json:"tags,omitempty"`
	Requires             []string       `json:"requires,omitempty"`
	Bindable             bool           `json:"bindable"`
	InstancesRetrievable bool           `json:"instances_retrievable,omitempty"`
	BindingsRetrievable  bool           `json:"bindings_retrievable,omitempty"`
	AllowContextUpdates  bool           `json:"allow_context_updates,omitempty"`
	Metadata             map[string]any `json:"metadata,omitempty"`
	PlanUpdateable       bool           `json:"plan_updateable,omitempty"`
	Plans                []Plan         `json:"plans"`
}

// Plan is a Service Plan.
type Plan struct {
	ID                     string           `json:"id"`
	Name                   string           `json:"name"`
	Description            string           `json:"description"`
	Metadata               map[string]any   `json:"metadata,omitempty"`
	Free                   *bool            `json:"free,omitempty"`
	Bindable               *bool            `json:"bindable,omitempty"`
	PlanUpdateable         *bool            `json:"plan_updateable,omitempty"`
	Schemas                *Schemas         `json:"schemas,omitempty"`
	MaximumPollingDuration int              `json:"maximum_polling_duration,omitempty"`
	MaintenanceInfo        *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// Schemas are the JSON schemas of a plan's parameters.
type Schemas struct {
	ServiceInstance *ServiceInstanceSchemas `json:"service_instance,omitempty"`
	ServiceBinding  *ServiceBindingSchemas  `json:"service_binding,omitempty"`
}

// ServiceInstanceSchemas describe provision (create) and update parameters.
type ServiceInstanceSchemas struct {
	Create *InputParameters `json:"create,omitempty"`
	Update *InputParameters `json:"update,omitempty"`
}

// ServiceBindingSchemas describe bind parameters.
type ServiceBindingSchemas struct {
	Create *InputParameters `json:"create,omitempty"`
}

// InputParameters holds one JSON schema.
type InputParameters struct {
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// MaintenanceInfo tells the version of what a plan provisions.
type MaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// ProvisionRequest is the body of PUT /v2/service_instances/:instance_id.
// OrganizationGUID and SpaceGUID are deprecated in favour of Context, but still
// required (non-empty) by v2.17.
type ProvisionRequest struct {
	ServiceID        string           `json:"service_id"`
	PlanID           string           `json:"plan_id"`
	Context          map[string]any   `json:"context,omitempty"`
	OrganizationGUID string           `json:"organization_guid"`
	SpaceGUID        string           `json:"space_guid"`
	Parameters       map[string]any   `json:"parameters,omitempty"`
	MaintenanceInfo  *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// UpdateRequest is the body of PATCH /v2/service_instances/:instance_id. A nil PlanID
// or Parameters leaves the plan or the parameters as they are.
type UpdateRequest struct {
	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id,omitempty"`
	Context         map[string]any   `json:"context,omitempty"`
	Parameters      map[string]any   `json:"parameters,omitempty"`
	PreviousValues  *PreviousValues  `json:"previous_values,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// PreviousValues are what an instance was before an update.
type PreviousValues struct {
	PlanID          string           `json:"plan_id,omitempty"`
	ServiceID       string           `json:"service_id,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// BindRequest is the body of PUT .../service_bindings/:binding_id.
type BindRequest struct {
	ServiceID    string         `json:"service_id"`
	PlanID       string         `json:"plan_id"`
	Context      map[string]any `json:"context,omitempty"`
	AppGUID      string         `json:"app_guid,omitempty"`
	BindResource map[string]any `json:"bind_resource,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
}

// OperationResponse is the body of a provision, update, deprovision, bind or unbind
// response: an operation when asynchronous, else (for deprovision and unbind) {}.
type OperationResponse struct {
	DashboardURL string `json:"dashboard_url,omitempty"`
	Operation    string `json:"operation,omitempty"`
}

// InstanceResponse is the body of GET /v2/service_instances/:instance_id.
type InstanceResponse struct {
	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id"`
	DashboardURL    string           `json:"dashboard_url,omitempty"`
	Parameters      map[string]any   `json:"parameters,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// BindingResponse is the body of a synchronous bind or of GET .../service_bindings/:binding_id.
type BindingResponse struct {
	Credentials map[string]any `json:"credentials,omitempty"`
	Parameters  map[string]any `json:"parameters,omitempty"`
	Endpoints   []Endpoint     `json:"endpoints,omitempty"`
}

// Endpoint is a network endpoint a binding's application connects to.
type Endpoint struct {
	Host     string   `json:"host"`
	Ports    []string `json:"ports"`
	Protocol string   `json:"protocol,omitempty"`
}

// LastOperationResponse is the body of a last_operation response.
type LastOperationResponse struct {
	State            string `json:"state"`
	Description      string `json:"description,omitempty"`
	InstanceUsable   *bool  `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool  `json:"update_repeatable,omitempty"`
}

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error            string `json:"error,omitempty"`
	Description      string `json:"description,omitempty"`
	InstanceUsable   *bool  `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool  `json:"update_repeatable,omitempty"`
}
