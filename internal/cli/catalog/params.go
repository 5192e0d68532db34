package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
)

// parameters merges --params-json (a JSON object) and --param key=value pairs (string
// values) into the raw parameters of an instance or binding; nil when there are none.
// A key given twice is an error rather than a silent override.
func parameters(pairs []string, paramsJSON string) (*runtime.RawExtension, error) {
	params := map[string]any{}
	if paramsJSON != "" {
		if err := json.Unmarshal([]byte(paramsJSON), &params); err != nil {
			return nil, fmt.Errorf("--params-json must be a JSON object: %w", err)
		}
	}
	for _, pair := range pairs {
		key, value, ok := strings.Cut(pair, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--param %q must be key=value", pair)
		}
		if _, dup := params[key]; dup {
			return nil, fmt.Errorf("parameter %q is given twice", key)
		}
		params[key] = value
	}
	if len(params) == 0 {
		return nil, nil
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	return &runtime.RawExtension{Raw: raw}, nil
}
