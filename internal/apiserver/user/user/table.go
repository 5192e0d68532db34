package user

import (
	"context"
	"fmt"
	"strings"

	userv1 "github.com/openshift/api/user/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints oauth-apiserver's columns for `oc get users`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "UID", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["uid"]},
	{Name: "Full Name", Type: "string", Description: userv1.User{}.SwaggerDoc()["fullName"]},
	{Name: "Identities", Type: "string", Description: userv1.User{}.SwaggerDoc()["identities"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		u, ok := obj.(*userv1.User)
		if !ok {
			return nil, fmt.Errorf("not a User: %T", obj)
		}
		return []interface{}{name, string(u.UID), u.FullName, strings.Join(u.Identities, ", ")}, nil
	})
}
