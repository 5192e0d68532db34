package catalog

import (
	"strings"
	"testing"
)

func TestParameters(t *testing.T) {
	tests := []struct {
		name       string
		pairs      []string
		paramsJSON string
		want       string // the raw JSON (empty: none)
		wantErr    string
	}{
		{"none", nil, "", "", ""},
		{"pairs are strings", []string{"init-db-args=--data-checksums", "size=2"}, "", `{"init-db-args":"--data-checksums","size":"2"}`, ""},
		{"value with =", []string{"opts=a=b"}, "", `{"opts":"a=b"}`, ""},
		{"empty value", []string{"empty="}, "", `{"empty":""}`, ""},
		{"json keeps types", nil, `{"size":2,"ha":true}`, `{"ha":true,"size":2}`, ""},
		{"json and pairs", []string{"name=x"}, `{"size":2}`, `{"name":"x","size":2}`, ""},
		{"no =", []string{"size"}, "", "", `--param "size" must be key=value`},
		{"no key", []string{"=2"}, "", "", `--param "=2" must be key=value`},
		{"twice", []string{"size=1"}, `{"size":2}`, "", `parameter "size" is given twice`},
		{"json not an object", nil, `[1]`, "", `--params-json must be a JSON object`},
		{"json null", []string{"a=b"}, `null`, "", `--params-json must be a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := parameters(tt.pairs, tt.paramsJSON)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			got := ""
			if raw != nil {
				got = string(raw.Raw)
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}
