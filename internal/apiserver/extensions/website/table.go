package website

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/api/extensions"
	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints the CRD's printer columns (URL, Ready, Reason, Age), so `kubectl
// get websites` reads the same in both install modes.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "URL", Type: "string", Description: "Where the site is served."},
	{Name: "Ready", Type: "string", Description: "The Ready condition's status."},
	{Name: "Reason", Type: "string", Description: "The Ready condition's reason."},
	{Name: "Age", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, age string) ([]interface{}, error) {
		w := obj.(*extensions.Website)
		ready, reason := readyCondition(w)
		return []interface{}{name, w.Status.URL, ready, reason, age}, nil
	})
}

func readyCondition(w *extensions.Website) (status, reason string) {
	if c := meta.FindStatusCondition(w.Status.Conditions, "Ready"); c != nil {
		return string(c.Status), c.Reason
	}
	return "", ""
}
