package oauthaccesstoken

import (
	"context"
	"fmt"
	"strings"
	"time"

	oauthv1 "github.com/openshift/api/oauth/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints oauth-apiserver's columns for `oc get oauthaccesstokens`.
type tableConvertor struct{}

// Columns are the columns of both token resources.
var Columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "User Name", Type: "string", Description: oauthv1.OAuthAccessToken{}.SwaggerDoc()["userName"]},
	{Name: "Client Name", Type: "string", Description: oauthv1.OAuthAccessToken{}.SwaggerDoc()["clientName"]},
	{Name: "Created", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	{Name: "Expires", Type: "string", Description: oauthv1.OAuthAccessToken{}.SwaggerDoc()["expiresIn"]},
	{Name: "Redirect URI", Type: "string", Description: oauthv1.OAuthAccessToken{}.SwaggerDoc()["redirectURI"]},
	{Name: "Scopes", Type: "string", Description: oauthv1.OAuthAccessToken{}.SwaggerDoc()["scopes"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, Columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		t, ok := obj.(*oauthv1.OAuthAccessToken)
		if !ok {
			return nil, fmt.Errorf("not an OAuthAccessToken: %T", obj)
		}
		return Row(t, name), nil
	})
}

// Row is a token's cells; Expires is the time it ends, as oc prints it, or "never".
func Row(t *oauthv1.OAuthAccessToken, name string) []interface{} {
	expires := "never"
	if t.ExpiresIn > 0 {
		expires = t.CreationTimestamp.Add(time.Duration(t.ExpiresIn) * time.Second).UTC().Format(time.RFC3339)
	}
	return []interface{}{name, t.UserName, t.ClientName, t.CreationTimestamp.UTC().Format(time.RFC3339), expires, t.RedirectURI,
		strings.Join(t.Scopes, ",")}
}
