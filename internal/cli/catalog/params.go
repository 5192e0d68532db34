package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
)

// paramFlags are --param and --params-json: the parameters sent to the broker.
type paramFlags struct {
	pairs []string
	json  string
}

func (f *paramFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.pairs, "param", "p", nil, "a parameter for the broker, key=value (repeatable; values are strings)")
	cmd.Flags().StringVar(&f.json, "params-json", "", `parameters as a JSON object, e.g. '{"size": 2}'`)
}

func (f paramFlags) raw() (*runtime.RawExtension, error) { return parameters(f.pairs, f.json) }

// parameters merges --params-json (a JSON object) and --param key=value pairs (string
// values) into the raw parameters of an instance or binding; nil when there are none.
// A key given twice is an error rather than a silent override.
func parameters(pairs []string, paramsJSON string) (*runtime.RawExtension, error) {
	params := map[string]any{}
	if paramsJSON != "" {
		if err := json.Unmarshal([]byte(paramsJSON), &params); err != nil || params == nil {
			return nil, fmt.Errorf("--params-json must be a JSON object, not %s", paramsJSON)
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
