package template

import (
	"context"
	"strings"
	"testing"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The cells `oc get templates` shows, as openshift-apiserver's printer makes them.
func TestTableCells(t *testing.T) {
	long := strings.Repeat("word ", 30)
	tests := []struct {
		name, description string
		params            []templatev1.Parameter
		objects           int
		wantDescription   string
		wantParams        string
	}{
		{"no parameters", "One line.", nil, 0, "One line.", "0 (all set)"},
		{"first line only", "First.\nSecond.", []templatev1.Parameter{{Name: "A", Value: "x"}}, 1, "First....", "1 (all set)"},
		{"cut at 80", long, []templatev1.Parameter{{Name: "A", Generate: "expression"}, {Name: "B", Value: "v"}}, 2,
			strings.TrimSpace(long[:77]) + "...", "2 (1 generated)"},
		// blank wins over generated, as in OpenShift's printer
		{"blank and generated", "", []templatev1.Parameter{{Name: "A"}, {Name: "B", Generate: "expression"}}, 3, "", "2 (1 blank)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := &templatev1.Template{ObjectMeta: metav1.ObjectMeta{Name: "t", Annotations: map[string]string{"description": tt.description}},
				Parameters: tt.params, Objects: make([]runtime.RawExtension, tt.objects)}
			table, err := tableConvertor{}.ConvertToTable(context.Background(), tpl, nil)
			if err != nil {
				t.Fatal(err)
			}
			cells := table.Rows[0].Cells
			want := []interface{}{"t", tt.wantDescription, tt.wantParams, int64(tt.objects)}
			for i := range want {
				if cells[i] != want[i] {
					t.Errorf("cell %s: %#v, want %#v", columns[i].Name, cells[i], want[i])
				}
			}
		})
	}
}
