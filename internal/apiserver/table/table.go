// Package table turns kubia-apiserver's objects into the tables kubectl and oc print, so
// each registry only says which columns it has and what goes in them.
package table

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Cells returns one row's cells for obj, given its name and age as kubectl prints them.
type Cells func(obj runtime.Object, name, age string) ([]interface{}, error)

// Convert returns the table of obj (one object or a list): a row per object, the list's
// resource version and continue token, and the columns unless the client asked for none.
func Convert(obj, tableOptions runtime.Object, columns []metav1.TableColumnDefinition, cells Cells) (*metav1.Table, error) {
	rows, err := table.MetaToTableRow(obj, func(obj runtime.Object, _ metav1.Object, name, age string) ([]interface{}, error) {
		return cells(obj, name, age)
	})
	if err != nil {
		return nil, err
	}
	t := &metav1.Table{Rows: rows}
	if m, err := meta.ListAccessor(obj); err == nil {
		t.ResourceVersion, t.Continue, t.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		t.ResourceVersion = m.GetResourceVersion()
	}
	if opt, ok := tableOptions.(*metav1.TableOptions); !ok || !opt.NoHeaders {
		t.ColumnDefinitions = columns
	}
	return t, nil
}
