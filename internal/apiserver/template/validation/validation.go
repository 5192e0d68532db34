// Package validation checks Templates and TemplateInstances as openshift-apiserver does
// (its pkg/template/apis/template/validation), with its field paths and messages, on
// OpenShift's v1 types.
package validation

import (
	templatev1 "github.com/openshift/api/template/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

// ValidateTemplate checks a new Template: its metadata, and its parameters' names.
func ValidateTemplate(t *templatev1.Template) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(errs, templateprocessing.ValidateParameters(t.Parameters, field.NewPath("parameters"))...)
}

// ValidateTemplateUpdate checks an update's metadata only. This is OpenShift's rule, odd
// as it is: an update may give a parameter a name that a create would reject (processing
// then rejects it). Kubia keeps it, so that what OpenShift stores Kubia stores too.
func ValidateTemplateUpdate(t, old *templatev1.Template) field.ErrorList {
	return apimachineryvalidation.ValidateObjectMetaUpdate(&t.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
}

// ValidateTemplateInstance checks a new TemplateInstance: its metadata, its template (whose
// name and namespace may be empty), the Secret's name and the requester.
func ValidateTemplateInstance(ti *templatev1.TemplateInstance) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&ti.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	errs = append(errs, validateEmbeddedTemplate(&ti.Spec.Template)...)
	if ti.Spec.Secret != nil {
		errs = append(errs, validateSecretName(ti.Spec.Secret.Name, field.NewPath("spec", "secret", "name"))...)
	}
	switch {
	case ti.Spec.Requester == nil:
		errs = append(errs, field.Required(field.NewPath("spec", "requester"), ""))
	case ti.Spec.Requester.Username == "":
		errs = append(errs, field.Required(field.NewPath("spec", "requester", "username"), ""))
	}
	return errs
}

// validateEmbeddedTemplate checks spec.template as a Template, placeholders standing in
// for an empty name and namespace, with the errors' paths under spec.template.
func validateEmbeddedTemplate(t *templatev1.Template) field.ErrorList {
	c := t.DeepCopy()
	if c.Name == "" {
		c.Name = "dummy"
	}
	if c.Namespace == "" {
		c.Namespace = "dummy"
	}
	errs := ValidateTemplate(c)
	for _, err := range errs {
		err.Field = "spec.template." + err.Field
	}
	return errs
}

// ValidateTemplateInstanceUpdate checks an update: metadata, and a spec left as it was.
func ValidateTemplateInstanceUpdate(ti, old *templatev1.TemplateInstance) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&ti.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if !apiequality.Semantic.DeepEqual(ti.Spec, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "field is immutable"))
	}
	return errs
}

func validateSecretName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}
