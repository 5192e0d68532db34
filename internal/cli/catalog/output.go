package catalog

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
)

// Values of -o.
const (
	outputHuman = ""
	outputWide  = "wide"
	outputYAML  = "yaml"
	outputJSON  = "json"
)

// output is the -o flag: the human form (a table or a description), its wide form with
// more detail, or the objects themselves as YAML or JSON, as kubectl prints them.
type output struct{ format string }

func (o *output) addFlag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "", "output format: wide, yaml or json (default: for humans)")
}

func (o *output) validate() error {
	if !slices.Contains([]string{outputHuman, outputWide, outputYAML, outputJSON}, o.format) {
		return fmt.Errorf("--output must be wide, yaml or json, not %q", o.format)
	}
	return nil
}

// machine tells whether objects are printed as YAML or JSON instead of for humans.
func (o *output) machine() bool { return o.format == outputYAML || o.format == outputJSON }

// printObject writes obj as YAML or JSON, with its apiVersion and kind set and, as
// kubectl does, without its managedFields.
func (o *output) printObject(w io.Writer, obj runtime.Object) error {
	hideManagedFields(obj)
	s, err := scheme()
	if err != nil {
		return err
	}
	var p printers.ResourcePrinter = &printers.JSONPrinter{}
	if o.format == outputYAML {
		p = &printers.YAMLPrinter{}
	}
	return printers.NewTypeSetter(s).ToPrinter(p).PrintObj(obj, w)
}

func hideManagedFields(obj runtime.Object) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
}
