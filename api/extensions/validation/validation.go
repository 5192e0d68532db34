// Package validation checks Websites the way core Kubernetes checks its kinds: every rule
// the CRD's schema enforces, as field.ErrorLists naming the field, plus what a schema
// cannot say well (metadata.name reported as metadata.name, Secret names that can exist).
package validation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubia-dev/kubia/api/extensions"
)

// Limits shared with the CRD's schema (api/extensions/v1's markers).
const (
	// MaxNameLength leaves room for the "-website" suffix of the Deployment and Service
	// in a 63-character DNS label.
	MaxNameLength    = 55
	maxGitRepoLength = 2048
	maxRefLength     = 255
	minSyncInterval  = 5 * time.Second
	maxSyncInterval  = 24 * time.Hour
	maxReplicas      = 100
	maxSecretName    = 253
	maxHostLength    = 253
)

// ServiceTypes are the Service types a Website may ask for.
var ServiceTypes = []string{"NodePort", "ClusterIP", "LoadBalancer"}

var (
	urlGitRepo = regexp.MustCompile(`^(https?://|ssh://)\S+$`)
	scpGitRepo = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:\S+$`)
	refChars   = regexp.MustCompile(`^[A-Za-z0-9._/-]*$`)
)

// Messages as the CRD's schema words them, so both install modes explain a rejection alike.
const (
	nameMessage    = "must be a DNS-1035 label of at most 55 characters: it names the <name>-website Deployment and Service"
	gitURLMessage  = "must be an https://, http://, ssh:// or scp-style (user@host:path) Git URL"
	spaceMessage   = "must not contain whitespace or control characters"
	refMessage     = "must not start with '-' or contain '..'"
	refChrMessage  = "must consist of letters, digits, '.', '_', '/' and '-'"
	syncIntMessage = "must be between 5s and 24h"
)

// ValidateWebsiteName checks a Website's name: its children are named <name>-website.
func ValidateWebsiteName(name string, prefix bool) []string {
	if prefix {
		// generateName: the generated suffix is 5 characters.
		name += "x0000"
	}
	if len(name) > MaxNameLength || len(utilvalidation.IsDNS1035Label(name)) > 0 {
		return []string{nameMessage}
	}
	return nil
}

// ValidateWebsite checks a new Website.
func ValidateWebsite(w *extensions.Website) field.ErrorList {
	errs := apivalidation.ValidateObjectMeta(&w.ObjectMeta, true, ValidateWebsiteName, field.NewPath("metadata"))
	return append(errs, validateSpec(&w.Spec, field.NewPath("spec"))...)
}

// ValidateWebsiteUpdate checks a changed Website against the stored one.
func ValidateWebsiteUpdate(w, old *extensions.Website) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&w.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateSpec(&w.Spec, field.NewPath("spec"))...)
}

// ValidateWebsiteStatusUpdate checks a status written by the controller.
func ValidateWebsiteStatusUpdate(w, old *extensions.Website) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&w.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, validateStatus(&w.Status, field.NewPath("status"))...)
}

func validateSpec(spec *extensions.WebsiteSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateGitRepo(spec.GitRepo, path.Child("gitRepo"))...)
	errs = append(errs, validateRef(spec.Ref, path.Child("ref"))...)
	if spec.SyncInterval == nil {
		errs = append(errs, field.Required(path.Child("syncInterval"), ""))
	} else if d := spec.SyncInterval.Duration; d < minSyncInterval || d > maxSyncInterval {
		errs = append(errs, field.Invalid(path.Child("syncInterval"), spec.SyncInterval.Duration.String(), syncIntMessage))
	}
	if spec.Replicas == nil {
		errs = append(errs, field.Required(path.Child("replicas"), ""))
	} else if r := *spec.Replicas; r < 0 || r > maxReplicas {
		errs = append(errs, field.Invalid(path.Child("replicas"), r, fmt.Sprintf("must be between 0 and %d", maxReplicas)))
	}
	if spec.SecretRef != nil {
		errs = append(errs, validateSecretName(spec.SecretRef.Name, true, path.Child("secretRef", "name"))...)
	}
	if spec.Ingress != nil {
		errs = append(errs, validateIngress(spec.Ingress, path.Child("ingress"))...)
	}
	switch {
	case spec.ServiceType == "":
		errs = append(errs, field.Required(path.Child("serviceType"), ""))
	case !slices.Contains(ServiceTypes, spec.ServiceType):
		errs = append(errs, field.NotSupported(path.Child("serviceType"), spec.ServiceType, ServiceTypes))
	}
	return errs
}

func validateGitRepo(repo string, path *field.Path) field.ErrorList {
	switch {
	case repo == "":
		return field.ErrorList{field.Required(path, "")}
	case len(repo) > maxGitRepoLength:
		return field.ErrorList{field.TooLong(path, nil, maxGitRepoLength)}
	}
	var errs field.ErrorList
	if !urlGitRepo.MatchString(repo) && !scpGitRepo.MatchString(repo) {
		errs = append(errs, field.Invalid(path, repo, gitURLMessage))
	}
	if hasSpaceOrControl(repo) {
		errs = append(errs, field.Invalid(path, repo, spaceMessage))
	}
	return errs
}

func validateRef(ref string, path *field.Path) field.ErrorList {
	if len(ref) > maxRefLength {
		return field.ErrorList{field.TooLong(path, nil, maxRefLength)}
	}
	var errs field.ErrorList
	if !refChars.MatchString(ref) {
		errs = append(errs, field.Invalid(path, ref, refChrMessage))
	}
	if strings.HasPrefix(ref, "-") || strings.Contains(ref, "..") {
		errs = append(errs, field.Invalid(path, ref, refMessage))
	}
	return errs
}

func validateIngress(in *extensions.WebsiteIngress, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch host := in.Host; {
	case host == "":
		errs = append(errs, field.Required(path.Child("host"), ""))
	case len(host) > maxHostLength:
		errs = append(errs, field.TooLong(path.Child("host"), nil, maxHostLength))
	default:
		for _, msg := range utilvalidation.IsDNS1123Subdomain(host) {
			errs = append(errs, field.Invalid(path.Child("host"), host, msg))
		}
	}
	if in.TLSSecretName != "" {
		errs = append(errs, validateSecretName(in.TLSSecretName, false, path.Child("tlsSecretName"))...)
	}
	return errs
}

// validateSecretName accepts the names a Secret can have: the CRD only bounds the length,
// so it takes names that can never exist.
func validateSecretName(name string, required bool, path *field.Path) field.ErrorList {
	switch {
	case name == "" && required:
		return field.ErrorList{field.Required(path, "")}
	case len(name) > maxSecretName:
		return field.ErrorList{field.TooLong(path, nil, maxSecretName)}
	}
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateStatus(status *extensions.WebsiteStatus, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateNonnegativeField(status.ObservedGeneration, path.Child("observedGeneration"))...)
	if p := status.NodePort; p < 0 || p > 65535 {
		errs = append(errs, field.Invalid(path.Child("nodePort"), p, "must be between 0 and 65535"))
	}
	return append(errs, metav1validation.ValidateConditions(status.Conditions, path.Child("conditions"))...)
}

// hasSpaceOrControl is the CRD's [\x00-\x1f\x7f\s], plus Unicode spaces, which no Git
// URL needs and which would let a URL look like another in a terminal.
func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || unicode.IsSpace(r) })
}
