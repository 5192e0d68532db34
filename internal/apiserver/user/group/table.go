package group

import (
	"context"
	"fmt"
	"strings"

	userv1 "github.com/openshift/api/user/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints oauth-apiserver's columns for `oc get groups`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Users", Type: "string", Description: userv1.Group{}.SwaggerDoc()["users"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		g, ok := obj.(*userv1.Group)
		if !ok {
			return nil, fmt.Errorf("not a Group: %T", obj)
		}
		return []interface{}{name, strings.Join(g.Users, ", ")}, nil
	})
}
