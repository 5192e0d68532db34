package templateprocessing

import (
	"fmt"
	"math/rand"
	"regexp"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/openshift/library-go/pkg/template/generator"
	"github.com/openshift/library-go/pkg/template/templateprocessing"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ExpressionGenerator is the name of the only generator OpenShift registers, the value of a parameter's
// `generate` field that makes it generate a value from its `from` expression.
const ExpressionGenerator = "expression"

// parameterNameRegexp is openshift-apiserver's ParameterNameRegexp (pkg/template/apis/template/validation).
var parameterNameRegexp = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

// ValidateParameters checks the parameter names as openshift-apiserver's Template validation does, with its
// messages: a name is required and must match ^[a-zA-Z0-9_]+$. Like OpenShift it does not reject two parameters of
// the same name (processing then uses the last one). path is the path of the parameter list, "parameters" for a
// Template.
func ValidateParameters(params []templatev1.Parameter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, param := range params {
		namePath := path.Index(i).Child("name")
		switch {
		case param.Name == "":
			errs = append(errs, field.Required(namePath, ""))
		case !parameterNameRegexp.MatchString(param.Name):
			errs = append(errs, field.Invalid(namePath, param.Name, fmt.Sprintf("does not match %v", parameterNameRegexp)))
		}
	}
	return errs
}

// Process processes t in place as openshift-apiserver's processedtemplates endpoint does: it validates the parameter
// names, then runs library-go's Processor with the "expression" generator drawing from r. Parameter values are
// generated, the message, the labels and every object substituted, and each object is left as an Unstructured.
//
// r is not safe for concurrent use, so share one only between calls in one goroutine; nil means a new source
// seeded from the clock, as openshift-apiserver makes for each request. On error t may be partly processed, as
// with OpenShift. Where OpenShift would panic or give a result that depends on chance, Process returns an error
// naming the object and field instead (see the package documentation).
func Process(t *templatev1.Template, r *rand.Rand) field.ErrorList {
	if errs := ValidateParameters(t.Parameters, field.NewPath("parameters")); len(errs) > 0 {
		return errs
	}
	if r == nil {
		r = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	processor := templateprocessing.NewProcessor(map[string]generator.Generator{
		ExpressionGenerator: safeGenerator{generator.NewExpressionValueGenerator(r)},
	})

	// Generation is the first step of library-go's Process and its errors end processing. Running it here first
	// lets the checks below see the generated values; the Process call then finds every value already set and
	// generates nothing more (an expression with no generator in it yields itself without drawing from r).
	if errs := processor.GenerateParameterValues(t); len(errs) > 0 {
		return errs
	}
	if errs := normaliseObjects(t.Objects); len(errs) > 0 {
		return errs
	}
	if errs := newHazardChecker(processor, t.Parameters).check(t); len(errs) > 0 {
		return errs
	}
	return processWithoutPanics(processor, t)
}

// normaliseObjects turns the objects library-go cannot process safely into the form it processes as OpenShift's
// server does: a null entry is an error, since library-go would dereference it, and a typed Go object becomes
// Unstructured, since openshift-apiserver only ever sees objects as JSON.
func normaliseObjects(objects []runtime.RawExtension) field.ErrorList {
	var errs field.ErrorList
	for i := range objects {
		item := &objects[i]
		if len(item.Raw) > 0 {
			continue
		}
		path := field.NewPath("objects").Index(i)
		switch obj := item.Object.(type) {
		case nil:
			errs = append(errs, field.Required(path, "an object is required, not null"))
		case runtime.Unstructured:
			// library-go processes it as it is.
		default:
			content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				errs = append(errs, field.Invalid(path, fmt.Sprintf("%T", obj), fmt.Sprintf("cannot convert the object to Unstructured: %v", err)))
				continue
			}
			item.Object = &unstructured.Unstructured{Object: content}
		}
	}
	return errs
}

// processWithoutPanics runs library-go's Process, turning a panic into an internal error: the checks before it
// cover every panic known, and a new one must not take the API server or the CLI down with it.
func processWithoutPanics(processor *templateprocessing.Processor, t *templatev1.Template) (errs field.ErrorList) {
	defer func() {
		if r := recover(); r != nil {
			errs = field.ErrorList{field.InternalError(field.NewPath("objects"),
				fmt.Errorf("OpenShift's template processing panicked: %v", r))}
		}
	}()
	return processor.Process(t)
}
