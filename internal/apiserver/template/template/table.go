package template

import (
	"context"
	"fmt"
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints openshift-apiserver's columns for `oc get templates`: name,
// description, parameters and the number of objects.
type tableConvertor struct{}

// descriptionWidth is where OpenShift cuts a description.
const descriptionWidth = 80

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Description", Type: "string", Description: "Template description."},
	{Name: "Parameters", Type: "string", Description: templatev1.Template{}.SwaggerDoc()["parameters"]},
	{Name: "Objects", Type: "string", Description: "Number of resources in this template."},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, age string) ([]interface{}, error) {
		tpl, ok := obj.(*templatev1.Template)
		if !ok {
			return nil, fmt.Errorf("not a Template: %T", obj)
		}
		return []interface{}{name, description(tpl), parameterSummary(tpl.Parameters), int64(len(tpl.Objects))}, nil
	})
}

// description is the first line of the "description" annotation, cut at 80 characters,
// with "..." where something was left out.
func description(t *templatev1.Template) string {
	d := t.Annotations["description"]
	if first, _, more := strings.Cut(d, "\n"); more {
		d = first + "..."
	}
	if len(d) > descriptionWidth {
		d = strings.TrimSpace(d[:descriptionWidth-3]) + "..."
	}
	return d
}

// parameterSummary counts the parameters, and those left blank or generated, as oc shows
// them: "3 (1 blank)", "3 (2 generated)" or "3 (all set)".
func parameterSummary(params []templatev1.Parameter) string {
	blank, generated := 0, 0
	for _, p := range params {
		switch {
		case p.Value != "":
		case p.Generate != "":
			generated++
		default:
			blank++
		}
	}
	switch {
	case blank > 0:
		return fmt.Sprintf("%d (%d blank)", len(params), blank)
	case generated > 0:
		return fmt.Sprintf("%d (%d generated)", len(params), generated)
	}
	return fmt.Sprintf("%d (all set)", len(params))
}
