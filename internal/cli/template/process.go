package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

const processLong = `Process a template into a list of resources specified in a file name or stdin.

Templates allow parameterization of resources prior to being sent to the server for creation or
update. Templates have "parameters", which may either be generated on creation or set by the user,
as well as metadata describing the template.

The output of the process command is always a list of one or more resources. You may pipe the
output to the create command over STDIN (using the '-f -' option) or redirect it to a file.

Process resolves the template on the server (kubia-apiserver's processedtemplates, as
openshift-apiserver's), but you may pass --local to parameterize the template locally, without
contacting the server. Both run the same processing code.`

const processExample = `  # Convert the template.json file into a resource list and pass to create
  kubia process -f template.json | kubectl create -f -

  # Process a file locally instead of contacting the server
  kubia process -f template.json --local -o yaml

  # Process template while passing a user-defined label
  kubia process -f template.json -l name=mytemplate

  # Convert a stored template into a resource list
  kubia process foo

  # Convert a stored template into a resource list by setting/overriding parameter values
  kubia process foo PARM1=VALUE1 PARM2=VALUE2

  # Convert a template stored in different namespace into a resource list
  kubia process openshift//foo

  # Convert template.json into a resource list
  cat template.json | kubia process -f -`

// processOptions are `kubia process`'s flags.
type processOptions struct {
	*options
	paramOptions
	printFlags *genericclioptions.PrintFlags
	filename   string
	labels     string
	local      bool
	parameters bool
}

// NewProcessCommand returns `kubia process`, which is `oc process`: it turns a Template,
// stored or in a file, into the List of its objects with the parameters substituted.
func NewProcessCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &processOptions{
		options:    newOptions(streams),
		printFlags: genericclioptions.NewPrintFlags("processed").WithTypeSetter(clientgoscheme.Scheme).WithDefaultOutput("json"),
	}
	cmd := &cobra.Command{
		Use:          "process (TEMPLATE | -f FILENAME) [-p=KEY=VALUE]",
		Short:        "Process a template into list of resources",
		Long:         processLong,
		Example:      processExample,
		SilenceUsage: true,
		RunE:         func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.printFlags.AddFlags(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&o.filename, "filename", "f", "", "Filename or URL to file to read a template")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	o.paramOptions.addFlags(cmd)
	fl.BoolVar(&o.local, "local", false, "If true process the template locally instead of contacting the server.")
	fl.BoolVar(&o.parameters, "parameters", false, "If true, do not process but only print available parameters")
	fl.StringVarP(&o.labels, "labels", "l", "", "Label to set in all resources for this template")
	o.config.AddFlags(fl)
	return cmd
}

// parametersConflicts are the flags --parameters cannot be used with, as in oc.
var parametersConflicts = []string{"param", "labels", "output", "template"}

// run does what oc's Complete, Validate and RunProcess do, in their order, so that the
// same command line fails with the same error first.
func (o *processOptions) run(cmd *cobra.Command, args []string) error {
	templateName, positional, err := templateprocessing.SplitArgs(args)
	if err != nil {
		return usageErrorf(cmd, "%v", err)
	}
	assignments := slices.Concat(o.params, positional)
	if cmd.Flags().Changed("param") {
		for _, warning := range templateprocessing.CommaWarnings(assignments) {
			fmt.Fprintln(o.ErrOut, warning)
		}
	}

	// The namespace is needed only to talk to the server: --local works without a
	// kubeconfig.
	namespace, _, err := o.namespace()
	if err != nil && !o.local {
		return err
	}
	var client rest.Interface
	if !o.local {
		if client, err = o.templateClient(); err != nil {
			return err
		}
	}

	if o.parameters {
		for _, name := range parametersConflicts {
			if cmd.Flags().Changed(name) {
				return usageErrorf(cmd, "The --parameters flag does not process the template, can't be used with --%v", name)
			}
		}
	}
	if templateName != "" && o.local {
		return usageErrorf(cmd, "You may only specify a local template file via -f when running this command with --local")
	}
	// oc finds a bad -o only when printing, after the server has processed the template.
	var printer printers.ResourcePrinter
	if !o.parameters {
		if printer, err = o.printFlags.ToPrinter(); err != nil {
			return err
		}
	}

	params, repeated, paramErr := o.readParams(assignments, o.In, o.ErrOut)
	if repeated != nil {
		return usageErrorf(cmd, "%v", repeated)
	}
	if templateName == "" && o.filename == "" {
		return usageErrorf(cmd, "Must pass a filename or name of stored template")
	}

	tpl, err := o.loadTemplate(cmd.Context(), client, templateName, namespace)
	if err != nil {
		return err
	}
	// The template must be in the namespace it is processed in.
	if tpl.Namespace != "" && tpl.Namespace != namespace {
		tpl.Namespace = namespace
	}
	if o.parameters {
		return printParameters(o.Out, tpl.Parameters)
	}
	if err := templateprocessing.AddLabels(tpl, o.labels); err != nil {
		return err
	}
	// As oc, errors in the parameters come after those in the command line and the template.
	if paramErr != nil {
		return paramErr
	}
	if err := templateprocessing.SetParameters(tpl, params, o.ignoreUnknown); err != nil {
		return oneErrorPerLine(err)
	}

	var processed *templatev1.Template
	if o.local {
		processed, err = processLocally(tpl)
	} else {
		processed, err = processOnServer(cmd.Context(), client, namespace, tpl)
	}
	if err != nil {
		return err
	}
	return o.print(printer, processed)
}

// loadTemplate reads the stored template templateName refers to (name, template/name,
// templates/name, ns/template/name or ns//name), or else the first object of -f, which
// must be a Template.
func (o *processOptions) loadTemplate(ctx context.Context, c rest.Interface, templateName, namespace string) (*templatev1.Template, error) {
	if templateName != "" {
		refNamespace, name, err := templateprocessing.ParseTemplateRef(templateName, namespace)
		if err != nil {
			return nil, err
		}
		return getTemplate(ctx, c, refNamespace, name)
	}
	objs, err := readObjects(o.filename, o.In)
	if err != nil {
		return nil, err
	}
	if len(objs) > 1 {
		// oc prints this on stdout, in front of the List; stderr keeps the output usable.
		fmt.Fprintf(o.ErrOut, "%d input templates found, but only the first will be processed\n", len(objs))
	}
	return firstTemplate(objs, o.filename)
}

// templateKind is what invalid templates are reported as, as oc reports them.
var templateKind = templatev1.GroupVersion.WithKind("Template").GroupKind()

// processLocally processes tpl as the server would (the same code), without contacting it.
func processLocally(tpl *templatev1.Template) (*templatev1.Template, error) {
	if errs := templateprocessing.Process(tpl, nil); len(errs) > 0 {
		return nil, invalidError(apierrors.NewInvalid(templateKind, tpl.Name, errs))
	}
	return tpl, nil
}

// invalidError words an Invalid error as kubectl's CheckErr does for oc (`The Template "x"
// is invalid: ` and each cause as field: message, one per line when there are several),
// keeping the StatusError for callers.
func invalidError(err *apierrors.StatusError) error {
	details := err.ErrStatus.Details
	prefix := fmt.Sprintf("The %s %q is invalid: ", details.Kind, details.Name)
	var causes []string
	for _, cause := range details.Causes {
		if line := cause.Field + ": " + cause.Message; !slices.Contains(causes, line) {
			causes = append(causes, line)
		}
	}
	message := strings.TrimSuffix(prefix, ": ")
	switch len(causes) {
	case 0:
	case 1:
		message = prefix + causes[0]
	default:
		message = prefix + "\n* " + strings.Join(causes, "\n* ")
	}
	return &wordedError{message: message, err: err}
}

// oneErrorPerLine words an aggregate of several errors as kubectl's CheckErr does: one per
// line, instead of the aggregate's bracketed list.
func oneErrorPerLine(err error) error {
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) && len(agg.Errors()) > 1 {
		return errors.Join(agg.Errors()...)
	}
	return err
}

// print prints the processed objects as -o asks, as oc does: a v1 List of them (JSON by
// default), or one line per object with -o name.
func (o *processOptions) print(printer printers.ResourcePrinter, processed *templatev1.Template) error {
	if *o.printFlags.OutputFormat != "name" {
		return printer.PrintObj(templateprocessing.ToList(processed), o.Out)
	}
	// The name printer does not take a List of raw objects; each is printed.
	for _, item := range processed.Objects {
		obj := item.Object
		if obj == nil {
			var err error
			if obj, err = runtime.Decode(unstructured.UnstructuredJSONScheme, item.Raw); err != nil {
				return err
			}
		}
		if err := printer.PrintObj(obj, o.Out); err != nil {
			return err
		}
	}
	return nil
}

// printParameters prints oc's table of a template's parameters: a generated parameter's
// VALUE is its expression.
func printParameters(out io.Writer, params []templatev1.Parameter) error {
	w := tabwriter.NewWriter(out, 20, 5, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tDESCRIPTION\tGENERATOR\tVALUE")
	for _, p := range params {
		value := p.Value
		if p.Generate != "" {
			value = p.From
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.Description, p.Generate, value)
	}
	return w.Flush()
}
