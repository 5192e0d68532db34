// Package pgbroker is kubia-broker's PostgreSQL service: each instance a dedicated
// PostgreSQL 15 server in the cluster, each binding a login role of its own. It keeps
// all its state in the Kubernetes objects it creates, so a restarted or second broker
// process carries on where another left off.
package pgbroker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"k8s.io/utils/ptr"

	"github.com/kubia-dev/kubia/internal/osb"
)

// The catalog's ids never change: platforms know offerings and plans by them.
const (
	ServiceID     = "4bafb707-0268-48c9-bcc0-fe8637c9ee86"
	FreePlanID    = "a92da35a-467e-47d1-a588-484cd5994b88"
	PremiumPlanID = "40968f7b-4e4b-46b3-94f1-bc40dc605f10"

	ServiceName = "postgres-database"
)

// createSchema describes the provision parameters: the book's init-db-args.
const createSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "init-db-args": {
      "type": "string",
      "maxLength": 256,
      "description": "Flags for initdb, separated by spaces: --data-checksums, --locale=<locale>, --lc-collate=<locale>, --lc-ctype=<locale>, --encoding=<encoding>, --no-locale"
    }
  }
}`

// updateSchema accepts no parameters: initdb's flags apply only to a new server.
const updateSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "additionalProperties": false
}`

// Catalog is the broker's catalog: one service, two plans.
func Catalog() osb.Catalog {
	schemas := &osb.Schemas{ServiceInstance: &osb.ServiceInstanceSchemas{
		Create: &osb.InputParameters{Parameters: json.RawMessage(createSchema)},
		Update: &osb.InputParameters{Parameters: json.RawMessage(updateSchema)},
	}}
	return osb.Catalog{Services: []osb.Service{{
		Name:                 ServiceName,
		ID:                   ServiceID,
		Description:          "A PostgreSQL database",
		Tags:                 []string{"postgresql", "relational", "database"},
		Bindable:             true,
		InstancesRetrievable: true,
		BindingsRetrievable:  true,
		PlanUpdateable:       true,
		Metadata:             map[string]any{"displayName": "PostgreSQL 15"},
		Plans: []osb.Plan{
			{ID: FreePlanID, Name: "free", Description: "A free (but slow) PostgreSQL instance",
				Free: ptr.To(true), Schemas: schemas, Metadata: planMetadata(plans[FreePlanID])},
			{ID: PremiumPlanID, Name: "premium", Description: "A paid (very fast) PostgreSQL instance",
				Free: ptr.To(false), Schemas: schemas, Metadata: planMetadata(plans[PremiumPlanID])},
		},
	}}}
}

func planMetadata(p plan) map[string]any {
	storage := "ephemeral (lost when the server's pod is replaced)"
	if p.storage != "" {
		storage = "persistent volume of " + p.storage
	}
	return map[string]any{"bullets": []string{
		fmt.Sprintf("CPU %s, memory %s", p.cpuLimit, p.memoryLimit),
		"Storage: " + storage,
	}}
}

// plan is what a plan provisions.
type plan struct {
	name                 string
	cpuRequest, cpuLimit string
	memoryRequest        string
	memoryLimit          string
	// storage is the size of the data volume claim; empty means an emptyDir.
	storage string
}

var plans = map[string]plan{
	FreePlanID:    {name: "free", cpuRequest: "50m", cpuLimit: "250m", memoryRequest: "64Mi", memoryLimit: "256Mi"},
	PremiumPlanID: {name: "premium", cpuRequest: "250m", cpuLimit: "2", memoryRequest: "256Mi", memoryLimit: "1Gi", storage: "1Gi"},
}

// initdbFlag is one allowed initdb flag: exact, or with a value matching a pattern.
var initdbFlags = []struct {
	name  string
	value *regexp.Regexp // nil: takes no value
}{
	{name: "--data-checksums"},
	{name: "--no-locale"},
	{name: "--locale", value: regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)},
	{name: "--lc-collate", value: regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)},
	{name: "--lc-ctype", value: regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)},
	{name: "--encoding", value: regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)},
}

// initdbArgs checks the init-db-args parameter against the allowed flags and returns
// them; anything else is a 400 naming the flag.
func initdbArgs(params map[string]any) ([]string, error) {
	raw, ok := params["init-db-args"]
	if !ok {
		return nil, nil
	}
	s, ok := raw.(string)
	if !ok {
		return nil, osb.Errorf(http.StatusBadRequest, "", "init-db-args must be a string of initdb flags")
	}
	args := strings.Fields(s)
	for _, arg := range args {
		if !allowedInitdbFlag(arg) {
			return nil, osb.Errorf(http.StatusBadRequest, "", "init-db-args: %q is not allowed; allowed are %s", arg, allowedInitdbFlagsText())
		}
	}
	return args, nil
}

func allowedInitdbFlag(arg string) bool {
	name, value, hasValue := strings.Cut(arg, "=")
	for _, f := range initdbFlags {
		if f.name != name {
			continue
		}
		if f.value == nil {
			return !hasValue
		}
		return hasValue && f.value.MatchString(value)
	}
	return false
}

func allowedInitdbFlagsText() string {
	var names []string
	for _, f := range initdbFlags {
		if f.value == nil {
			names = append(names, f.name)
		} else {
			names = append(names, f.name+"=<value>")
		}
	}
	return strings.Join(names, ", ")
}
