package route

import (
	"context"
	"fmt"
	"strings"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubia-dev/kubia/internal/apiserver/table"
)

// tableConvertor prints openshift-apiserver's columns for `oc get routes`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	{Name: "Host/Port", Type: "string", Description: routev1.RouteSpec{}.SwaggerDoc()["host"]},
	{Name: "Path", Type: "string", Description: routev1.RouteSpec{}.SwaggerDoc()["path"]},
	{Name: "Services", Type: "string", Description: "Primary and alternate route backends."},
	{Name: "Port", Type: "string", Description: routev1.RouteSpec{}.SwaggerDoc()["port"]},
	{Name: "Termination", Type: "string", Description: "Indicates termination type."},
	{Name: "Wildcard", Type: "string", Description: routev1.RouteSpec{}.SwaggerDoc()["wildcardPolicy"]},
}

func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return table.Convert(obj, tableOptions, columns, func(obj runtime.Object, name, _ string) ([]interface{}, error) {
		r, ok := obj.(*routev1.Route)
		if !ok {
			return nil, fmt.Errorf("not a Route: %T", obj)
		}
		port := "<all>"
		if r.Spec.Port != nil {
			port = r.Spec.Port.TargetPort.String()
		}
		return []interface{}{name, hostColumn(r), r.Spec.Path, servicesColumn(r), port, terminationColumn(r), string(r.Spec.WildcardPolicy)}, nil
	})
}

// hostColumn is the host as the routers admitted it, as oc prints it: the first admitted
// host (and how many more routers admitted it), "Pending" while no router has, and a
// rejection's reason when every router rejected the Route. A Route no router has written
// about yet shows its spec's host.
func hostColumn(r *routev1.Route) string {
	host := r.Spec.Host
	var admitted, rejected int
	var reason string
	matched := false
	for _, ingress := range r.Status.Ingress {
		c := admittedCondition(ingress)
		switch c.Status {
		case corev1.ConditionTrue:
			admitted++
			if !matched {
				matched = ingress.Host == r.Spec.Host
				host = ingress.Host
			}
		case corev1.ConditionFalse:
			reason = c.Reason
			rejected++
		}
	}
	switch {
	case r.Status.Ingress == nil:
	case admitted == 0 && rejected > 0:
		host = reason
	case rejected > 0:
		host = fmt.Sprintf("%s ... %d rejected", host, rejected)
	case admitted == 0:
		host = "Pending"
	case admitted > 1:
		host = fmt.Sprintf("%s ... %d more", host, admitted-1)
	}
	return host
}

func admittedCondition(ingress routev1.RouteIngress) routev1.RouteIngressCondition {
	for _, c := range ingress.Conditions {
		if c.Type == routev1.RouteAdmitted {
			return c
		}
	}
	return routev1.RouteIngressCondition{Status: corev1.ConditionUnknown}
}

// servicesColumn lists the backends with their shares of the traffic in percent, as oc
// does: none for a single backend (or an unweighted one), 0% each when every weight is 0.
func servicesColumn(r *routev1.Route) string {
	backends := append([]routev1.RouteTargetReference{r.Spec.To}, r.Spec.AlternateBackends...)
	var total int32
	for _, b := range backends {
		if b.Weight != nil {
			total += *b.Weight
		}
	}
	out := make([]string, 0, len(backends))
	for _, b := range backends {
		switch {
		case b.Weight == nil, len(backends) == 1 && total != 0:
			out = append(out, b.Name)
		case total == 0:
			out = append(out, b.Name+"(0%)")
		default:
			out = append(out, fmt.Sprintf("%s(%d%%)", b.Name, *b.Weight*100/total))
		}
	}
	return strings.Join(out, ",")
}

// terminationColumn is "<termination>[/<insecure policy>]", or "default/<policy>" with a
// policy but no termination.
func terminationColumn(r *routev1.Route) string {
	if r.Spec.TLS == nil {
		return ""
	}
	term, policy := string(r.Spec.TLS.Termination), string(r.Spec.TLS.InsecureEdgeTerminationPolicy)
	switch {
	case term != "" && policy != "":
		return term + "/" + policy
	case term != "":
		return term
	case policy != "":
		return "default/" + policy
	}
	return ""
}
