package templateinstance

import (
	"strings"

	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
)

// hasCondition tells whether the instance has the condition with this status.
func hasCondition(ti *templatev1.TemplateInstance, typ templatev1.TemplateInstanceConditionType, status corev1.ConditionStatus) bool {
	for _, c := range ti.Status.Conditions {
		if c.Type == typ && c.Status == status {
			return true
		}
	}
	return false
}

// setCondition sets the condition of this type, with a new transition time whenever it
// changes at all, as OpenShift's controller does (TemplateInstance conditions predate
// metav1.Condition and have no observedGeneration: the spec never changes).
func setCondition(status *templatev1.TemplateInstanceStatus, typ templatev1.TemplateInstanceConditionType, s corev1.ConditionStatus, reason, message string) {
	c := templatev1.TemplateInstanceCondition{Type: typ, Status: s, Reason: reason, Message: message, LastTransitionTime: metav1.Now()}
	for i, old := range status.Conditions {
		if old.Type != typ {
			continue
		}
		if old.Status != s || old.Reason != reason || old.Message != message {
			status.Conditions[i] = c
		}
		return
	}
	status.Conditions = append(status.Conditions, c)
}

// statusEqual tells whether two statuses say the same.
func statusEqual(a, b *templatev1.TemplateInstanceStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// instantiated tells whether every object of the instance was created: the status lists
// them all, before creation without UIDs (see recordIntent), after it with them.
func instantiated(ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus) bool {
	if len(status.Objects) != len(ti.Spec.Template.Objects) {
		return false
	}
	for _, o := range status.Objects {
		if o.Ref.UID == "" {
			return false
		}
	}
	return true
}

// formatError is err's message, one line per error when it holds several, as OpenShift
// writes them in the condition.
func formatError(err error) string {
	var lines []string
	for _, e := range flatten(err) {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// flatten lists the errors an aggregate or a join holds, or err itself.
func flatten(err error) []error {
	if agg, ok := err.(kerrors.Aggregate); ok {
		return agg.Errors()
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}
