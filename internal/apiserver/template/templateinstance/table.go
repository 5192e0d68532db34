package templateinstance

import (
	"context"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints openshift-apiserver's columns for `oc get templateinstances`: the
// name and the template's name.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Template", Type: "string", Description: "Template name to be instantiated."},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, age string) ([]interface{}, error) {
		ti, ok := obj.(*templatev1.TemplateInstance)
		if !ok {
			return nil, fmt.Errorf("not a TemplateInstance: %T", obj)
		}
		return []interface{}{name, ti.Spec.Template.Name}, nil
	})
}
