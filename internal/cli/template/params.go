package template

import (
	"fmt"
	"io"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/spf13/cobra"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

// paramOptions are the parameter flags `kubia process` and `kubia new-app` share, as oc's
// commands do.
type paramOptions struct {
	params        []string
	paramFiles    []string
	ignoreUnknown bool
}

func (o *paramOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&o.params, "param", "p", nil, "Specify a key-value pair (eg. -p FOO=BAR) to set/override a parameter value in the template.")
	fl.StringArrayVar(&o.paramFiles, "param-file", nil, "File containing template parameter values to set/override in the template.")
	_ = cmd.MarkFlagFilename("param-file")
	fl.BoolVar(&o.ignoreUnknown, "ignore-unknown-parameters", false, "If true, will not stop processing if a provided parameter does not exist in the template.")
}

// readParams parses the assignments and adds the parameter files' values, as oc does: a bad
// assignment is paramErr (oc reports it after reading the template; nothing else is read
// then), names given twice on the command line are repeated (a usage error, reported
// first), and the files' warnings are printed as each file is read.
func (o *paramOptions) readParams(assignments []string, in io.Reader, errOut io.Writer) (params []templateprocessing.Param, repeated, paramErr error) {
	params, err := templateprocessing.ParseParams(assignments)
	if err != nil {
		return nil, nil, err
	}
	// SetParameters checks for repeated names before anything else; on a template without
	// parameters, told to ignore unknown names, that is all it can report.
	repeated = templateprocessing.SetParameters(&templatev1.Template{}, params, true)
	for _, name := range o.paramFiles {
		file, err := templateprocessing.ReadParamFile(name, in)
		if err != nil {
			return nil, repeated, err
		}
		combined, warnings, err := templateprocessing.CombineParams(params, []templateprocessing.ParamFile{file})
		for _, warning := range warnings {
			fmt.Fprintln(errOut, warning)
		}
		if err != nil {
			return nil, repeated, err
		}
		params = combined
	}
	return params, repeated, nil
}
