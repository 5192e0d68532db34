package osb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// schemaKey names one parameters schema of a plan.
type schemaKey struct {
	planID string
	kind   schemaKind
}

type schemaKind string

const (
	schemaInstanceCreate schemaKind = "service_instance.create"
	schemaInstanceUpdate schemaKind = "service_instance.update"
	schemaBindingCreate  schemaKind = "service_binding.create"
)

type compiledSchema struct{ *jsonschema.Schema }

// compileSchemas compiles every parameters schema of the catalog, so a broken schema
// stops the broker at start-up rather than at a user's request.
func compileSchemas(c Catalog) (map[schemaKey]*compiledSchema, error) {
	out := map[schemaKey]*compiledSchema{}
	for _, svc := range c.Services {
		for _, plan := range svc.Plans {
			if plan.Schemas == nil {
				continue
			}
			for kind, raw := range planSchemas(plan.Schemas) {
				if len(raw) == 0 {
					continue
				}
				schema, err := compileSchema(raw, "plan-"+plan.ID+"-"+string(kind)+".json")
				if err != nil {
					return nil, fmt.Errorf("plan %s: %s parameters schema: %w", plan.Name, kind, err)
				}
				out[schemaKey{plan.ID, kind}] = &compiledSchema{schema}
			}
		}
	}
	return out, nil
}

func planSchemas(s *Schemas) map[schemaKind]json.RawMessage {
	out := map[schemaKind]json.RawMessage{}
	if s.ServiceInstance != nil && s.ServiceInstance.Create != nil {
		out[schemaInstanceCreate] = s.ServiceInstance.Create.Parameters
	}
	if s.ServiceInstance != nil && s.ServiceInstance.Update != nil {
		out[schemaInstanceUpdate] = s.ServiceInstance.Update.Parameters
	}
	if s.ServiceBinding != nil && s.ServiceBinding.Create != nil {
		out[schemaBindingCreate] = s.ServiceBinding.Create.Parameters
	}
	return out
}

func compileSchema(raw json.RawMessage, name string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(name, doc); err != nil {
		return nil, err
	}
	return c.Compile(name)
}

// validateParameters checks parameters against the plan's schema of kind; a plan
// without one takes no parameters.
func (h *handler) validateParameters(ref planRef, kind schemaKind, params map[string]any) error {
	schema := h.schemas[schemaKey{ref.plan.ID, kind}]
	if schema == nil {
		if len(params) > 0 {
			return Errorf(http.StatusBadRequest, "", "plan %q takes no %s parameters", ref.plan.Name, kind)
		}
		return nil
	}
	if params == nil {
		params = map[string]any{}
	}
	// The validator wants values as its own decoder makes them (json.Number).
	data, err := json.Marshal(params)
	if err != nil {
		return Errorf(http.StatusBadRequest, "", "parameters: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return Errorf(http.StatusBadRequest, "", "parameters: %v", err)
	}
	if err := schema.Validate(doc); err != nil {
		return Errorf(http.StatusBadRequest, "", "parameters do not match plan %q's %s schema: %s", ref.plan.Name, kind, describeValidation(err))
	}
	return nil
}

var printer = message.NewPrinter(language.English)

// describeValidation flattens a validation error to one line naming each failing field.
func describeValidation(err error) string {
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return err.Error()
	}
	var msgs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			field := "/" + strings.Join(e.InstanceLocation, "/")
			msgs = append(msgs, fmt.Sprintf("%s: %s", field, e.ErrorKind.LocalizedString(printer)))
		}
		for _, cause := range e.Causes {
			walk(cause)
		}
	}
	walk(verr)
	return strings.Join(msgs, "; ")
}
