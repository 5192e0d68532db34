package identity

import (
	"context"
	"fmt"

	userv1 "github.com/openshift/api/user/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints oauth-apiserver's columns for `oc get identities`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "IDP Name", Type: "string", Format: "name", Description: userv1.Identity{}.SwaggerDoc()["providerName"]},
	{Name: "IDP User Name", Type: "string", Format: "name", Description: userv1.Identity{}.SwaggerDoc()["providerUserName"]},
	{Name: "User Name", Type: "string", Format: "name", Description: userv1.Identity{}.SwaggerDoc()["user"]},
	{Name: "User UID", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["uid"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		id, ok := obj.(*userv1.Identity)
		if !ok {
			return nil, fmt.Errorf("not an Identity: %T", obj)
		}
		return []interface{}{name, id.ProviderName, id.ProviderUserName, id.User.Name, string(id.User.UID)}, nil
	})
}
