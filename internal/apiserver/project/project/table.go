package project

import (
	"context"
	"fmt"

	projectv1 "github.com/openshift/api/project/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// The annotations OpenShift keeps a project's display name, description and requester in.
const (
	DisplayNameAnnotation = "openshift.io/display-name"
	DescriptionAnnotation = "openshift.io/description"
	RequesterAnnotation   = "openshift.io/requester"
)

// tableConvertor prints openshift-apiserver's columns for `oc get projects`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Display Name", Type: "string", Description: "The name displayed by a UI when referencing a project."},
	{Name: "Status", Type: "string", Description: projectv1.ProjectStatus{}.SwaggerDoc()["phase"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		p, ok := obj.(*projectv1.Project)
		if !ok {
			return nil, fmt.Errorf("not a Project: %T", obj)
		}
		return []interface{}{name, p.Annotations[DisplayNameAnnotation], string(p.Status.Phase)}, nil
	})
}
