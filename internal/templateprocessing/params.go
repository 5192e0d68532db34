package templateprocessing

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/templateprocessing"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Param is one parameter value given to `oc process`: with -p KEY=VALUE, as a positional KEY=VALUE or in a
// --param-file.
type Param struct {
	Name  string
	Value string
}

// commaSeparatedRegexp is oc's test for a -p value that looks like the comma-separated list older versions took.
var commaSeparatedRegexp = regexp.MustCompile(`.*=.*,.*=.*`)

// SplitArgs separates the positional arguments of `oc process`: those containing "=" are parameter assignments
// (oc appends them after the -p values), the one without is the template's name.
func SplitArgs(args []string) (templateName string, assignments []string, err error) {
	for _, arg := range args {
		switch {
		case strings.Contains(arg, "="):
			assignments = append(assignments, arg)
		case templateName == "":
			templateName = arg
		default:
			return "", nil, fmt.Errorf("template name must be specified only once: %s", arg)
		}
	}
	return templateName, assignments, nil
}

// ParseParams parses KEY=VALUE assignments as oc does: the key is everything before the first "=" and must be a
// valid environment variable name (so "my-param" parses, and is then an unknown parameter). The first bad
// assignment is the error, with oc's message. Repeated names are kept: SetParameters reports them.
func ParseParams(assignments []string) ([]Param, error) {
	params := make([]Param, 0, len(assignments))
	for _, assignment := range assignments {
		name, value, found := strings.Cut(assignment, "=")
		if problems := validation.IsEnvVarName(name); len(problems) > 0 || !found {
			return nil, fmt.Errorf("invalid parameter assignment in %q, %v", assignment, problems)
		}
		params = append(params, Param{Name: name, Value: value})
	}
	return params, nil
}

// CommaWarnings returns oc's warnings for -p values that look like a comma-separated list of assignments, which
// oc once accepted and now takes as one value. oc prints them only when -p was given, for the positional
// assignments too.
func CommaWarnings(assignments []string) []string {
	var warnings []string
	for _, assignment := range assignments {
		if commaSeparatedRegexp.MatchString(assignment) {
			warnings = append(warnings, fmt.Sprintf(
				"warning: --param no longer accepts comma-separated lists of values. %q will be treated as a single key-value pair.", assignment))
		}
	}
	return warnings
}

// SetParameters gives the template's parameters the values given, as `oc process` does: a value given switches
// generation off, even an empty one (so `-p PASSWORD=` means an empty password, not a generated one). A name given
// twice is an error before anything is set. A name the template does not have is an error unless ignoreUnknown,
// after the known ones are set; when the template has two parameters of one name, only the first is set, as oc's
// lookup finds it, although processing uses the last.
func SetParameters(t *templatev1.Template, values []Param, ignoreUnknown bool) error {
	if repeated := repeatedNames(values); len(repeated) > 0 {
		return fmt.Errorf("The following parameters were provided more than once: %s", strings.Join(repeated, ", "))
	}
	var errs []error
	for _, value := range values {
		param := templateprocessing.GetParameterByName(t, value.Name)
		if param == nil {
			if !ignoreUnknown {
				errs = append(errs, fmt.Errorf("unknown parameter name %q", value.Name))
			}
			continue
		}
		param.Value = value.Value
		param.Generate = ""
	}
	return utilerrors.NewAggregate(errs)
}

// repeatedNames returns the names given more than once, sorted, each once.
func repeatedNames(values []Param) []string {
	seen := map[string]bool{}
	var repeated []string
	for _, value := range values {
		if seen[value.Name] && !slices.Contains(repeated, value.Name) {
			repeated = append(repeated, value.Name)
		}
		seen[value.Name] = true
	}
	slices.Sort(repeated)
	return repeated
}

// AddLabels merges `oc process -l` labels into the template's labels, overriding the template's own value of the
// same key; processing then puts them on every object. spec is kubectl's label list, "k=v,k2=v2"; keys are not
// validated here (the API server validates the objects created). An empty spec adds nothing, as oc skips it.
func AddLabels(t *templatev1.Template, spec string) error {
	if spec == "" {
		return nil
	}
	labels, err := parseLabels(spec)
	if err != nil {
		return fmt.Errorf("error parsing labels: %w", err)
	}
	if t.ObjectLabels == nil {
		t.ObjectLabels = map[string]string{}
	}
	for key, value := range labels {
		t.ObjectLabels[key] = value
	}
	return nil
}

// parseLabels parses "k=v,k2=v2" with the rules and messages of kubectl's generate.ParseLabels, which oc uses:
// every item has exactly one "=" and a non-empty key.
func parseLabels(spec string) (map[string]string, error) {
	labels := map[string]string{}
	for _, item := range strings.Split(spec, ",") {
		parts := strings.Split(item, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("unexpected label spec: %s", item)
		}
		if parts[0] == "" {
			return nil, errors.New("unexpected empty label key")
		}
		labels[parts[0]] = parts[1]
	}
	return labels, nil
}

// ParseTemplateRef parses a stored template's reference as `oc process` does: "name", "template/name" or
// "templates/name" in namespace, "ns/template/name" or "ns//name" in ns. As in oc, "//name" gives an empty
// namespace.
func ParseTemplateRef(ref, namespace string) (refNamespace, name string, err error) {
	parts := strings.Split(strings.TrimSpace(ref), "/")
	var resource string
	switch len(parts) {
	case 1:
		refNamespace, name = namespace, parts[0]
	case 2:
		refNamespace, resource, name = namespace, parts[0], parts[1]
	case 3:
		refNamespace, resource, name = parts[0], parts[1], parts[2]
	default:
		return "", "", fmt.Errorf("invalid argument %q", ref)
	}
	if resource != "" && resource != "template" && resource != "templates" {
		return "", "", fmt.Errorf("unable to process invalid resource %q", resource)
	}
	if name == "" {
		return "", "", fmt.Errorf("invalid value syntax %q", ref)
	}
	return refNamespace, name, nil
}
