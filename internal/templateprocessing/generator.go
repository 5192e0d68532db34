package templateprocessing

import (
	"fmt"

	"github.com/openshift/library-go/pkg/template/generator"
)

// intnPanic is what math/rand panics with when library-go asks it for a number below zero, which it does when a
// character class of a `from` expression holds no character.
const intnPanic = "invalid argument to Intn"

// safeGenerator is library-go's expression generator with its one known panic turned into an error. The error
// reaches library-go's GenerateParameterValues like any other generator error, so it is reported as OpenShift
// reports a malformed expression: field.Invalid on template.parameters[i].
type safeGenerator struct {
	expression generator.ExpressionValueGenerator
}

// GenerateValue generates a value for the `from` expression as library-go does.
func (g safeGenerator) GenerateValue(from string) (value interface{}, err error) {
	defer func() {
		r := recover()
		switch {
		case r == nil:
		case r == intnPanic:
			value, err = "", fmt.Errorf("no characters to choose from in %q: a range X-Y stops before Y in OpenShift, so a range such as a-a is empty", from)
		default:
			value, err = "", fmt.Errorf("generating a value from %q panicked: %v", from, r)
		}
	}()
	return g.expression.GenerateValue(from)
}
