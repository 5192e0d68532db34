package templateprocessing

import (
	"fmt"
	"math/rand"
	"regexp"

	"github.com/openshift/library-go/pkg/template/generator"
	lgtp "github.com/openshift/library-go/pkg/template/templateprocessing"

	templatev1 "github.com/openshift/api/template/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Placeholder until the templateprocessing branch lands; replaced at merge.
var parameterName = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

func ValidateParameters(params []templatev1.Parameter, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, p := range params {
		switch {
		case p.Name == "":
			errs = append(errs, field.Required(path.Index(i).Child("name"), ""))
		case !parameterName.MatchString(p.Name):
			errs = append(errs, field.Invalid(path.Index(i).Child("name"), p.Name, fmt.Sprintf("does not match %v", parameterName)))
		}
	}
	return errs
}

// Placeholder until the templateprocessing branch lands.
func Process(t *templatev1.Template, r *rand.Rand) field.ErrorList {
	p := lgtp.NewProcessor(map[string]generator.Generator{"expression": generator.NewExpressionValueGenerator(r)})
	return p.Process(t)
}
