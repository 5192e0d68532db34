package route

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// NewRouteCommand is `kubia route`, whose describe explains a route's status.
func NewRouteCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "route", Short: "Explain routes"}
	o := newOptions(streams)
	describe := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a route, whether each router admitted it, and why not",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			routes, kube, ns, err := o.clients()
			if err != nil {
				return err
			}
			r := &routev1.Route{}
			if err := routes.Get().Namespace(ns).Resource("routes").Name(args[0]).Do(cmd.Context()).Into(r); err != nil {
				return err
			}
			return describe(cmd.Context(), o.Out, routes, kube, r)
		},
	}
	o.config.AddFlags(describe.Flags())
	cmd.AddCommand(describe)
	return cmd
}

func describe(ctx context.Context, out io.Writer, routes rest.Interface, kube kubernetes.Interface, r *routev1.Route) error {
	w := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	host := r.Spec.Host
	if r.Annotations["openshift.io/host.generated"] == "true" {
		host += " (generated)"
	}
	fmt.Fprintf(w, "Name:\t%s\nNamespace:\t%s\nCreated:\t%s\nHost:\t%s\n", r.Name, r.Namespace, r.CreationTimestamp.UTC().Format("2006-01-02 15:04:05 MST"), host)
	if r.Spec.Path != "" {
		fmt.Fprintf(w, "Path:\t%s\n", r.Spec.Path)
	}
	fmt.Fprintf(w, "Services:\t%s\n", backendsLine(ctx, kube, r))
	port := "<all>"
	if r.Spec.Port != nil {
		port = r.Spec.Port.TargetPort.String()
	}
	fmt.Fprintf(w, "Port:\t%s\n", port)
	if tls := r.Spec.TLS; tls != nil {
		policy := string(tls.InsecureEdgeTerminationPolicy)
		if policy == "" {
			policy = "None"
		}
		fmt.Fprintf(w, "TLS:\t%s (plain HTTP: %s)\n", tls.Termination, policy)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(r.Status.Ingress) == 0 {
		fmt.Fprintf(out, "\nNo router has admitted or rejected this route yet. Is kubia-router running?\n"+
			"  kubectl -n kubia-system get pods -l app.kubernetes.io/name=kubia-router\n"+
			"Routes are served by the router Kubia's chart installs with apiserver.enabled=true.\n")
		return nil
	}
	for _, in := range r.Status.Ingress {
		describeIngress(ctx, out, routes, r, in)
	}
	return nil
}

// backendsLine lists the Services with their shares and how many ready endpoints each has.
func backendsLine(ctx context.Context, kube kubernetes.Interface, r *routev1.Route) string {
	backends := append([]routev1.RouteTargetReference{r.Spec.To}, r.Spec.AlternateBackends...)
	var total int32
	for _, b := range backends {
		if b.Weight != nil {
			total += *b.Weight
		}
	}
	parts := make([]string, 0, len(backends))
	for _, b := range backends {
		s := b.Name
		if len(backends) > 1 && b.Weight != nil {
			share := int32(0)
			if total > 0 {
				share = *b.Weight * 100 / total
			}
			s += fmt.Sprintf(" (weight %d, %d%%)", *b.Weight, share)
		}
		if n, ok := readyEndpoints(ctx, kube, r.Namespace, b.Name); ok {
			s += fmt.Sprintf(" [%d ready endpoints]", n)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// readyEndpoints counts a Service's ready addresses; false when they cannot be read.
func readyEndpoints(ctx context.Context, kube kubernetes.Interface, ns, service string) (int, bool) {
	slices, err := kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return 0, false
	}
	n := 0
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				n += len(ep.Addresses)
			}
		}
	}
	return n, true
}

func describeIngress(ctx context.Context, out io.Writer, routes rest.Interface, r *routev1.Route, in routev1.RouteIngress) {
	var admitted *routev1.RouteIngressCondition
	for i := range in.Conditions {
		if in.Conditions[i].Type == routev1.RouteAdmitted {
			admitted = &in.Conditions[i]
		}
	}
	fmt.Fprintf(out, "\nRouter %q:\n", in.RouterName)
	switch {
	case admitted == nil:
		fmt.Fprintf(out, "  not decided yet\n")
	case admitted.Status == corev1.ConditionTrue:
		fmt.Fprintf(out, "  Admitted: serving %s%s\n", in.Host, r.Spec.Path)
		if in.RouterCanonicalHostname != "" {
			fmt.Fprintf(out, "  Point DNS for %s at %s.\n", in.Host, in.RouterCanonicalHostname)
		}
	default:
		fmt.Fprintf(out, "  NOT admitted: %s: %s\n", admitted.Reason, admitted.Message)
		for _, line := range explain(ctx, routes, r, admitted.Reason) {
			fmt.Fprintf(out, "  %s\n", line)
		}
	}
}

// explain says why a route with this reason is not admitted, and what to do.
func explain(ctx context.Context, routes rest.Interface, r *routev1.Route, reason string) []string {
	switch reason {
	case "HostAlreadyClaimed":
		return append(claimants(ctx, routes, r),
			"The oldest route of a host (by creation time, then UID) gives the host to its namespace:",
			"routes of other namespaces are not admitted for it, whatever their path; in the owner's",
			"namespace routes of different paths share it, and of two with the same path the older wins.",
			"Where the router allows wildcard routes, a wildcardPolicy Subdomain route (*.example.com) also",
			"claims every host of its domain for its namespace, and an older host of the domain in another",
			"namespace keeps a wildcard out.",
			"Use another host (or leave spec.host empty to get a generated one), or have the older",
			"route deleted: the next oldest is then admitted.")
	case "NoHostValue":
		return []string{"The route has no host: set spec.host, or leave it and spec.subdomain empty to get a generated one."}
	case "InvalidHost":
		return []string{"The host is not a DNS name the router can serve: lowercase letters, digits, '-' and '.', labels of 63 characters at most."}
	case "RouteNotAdmitted":
		return []string{"This router does not serve such routes (wildcard routes need kubia-router --allow-wildcard-routes)."}
	case "ExtendedValidationFailed":
		return []string{"The router refused the route's TLS settings or configuration (above): check that spec.tls.certificate",
			"and spec.tls.key are PEM and belong together, and that caCertificate and destinationCACertificate are",
			"PEM certificates. The router keeps serving every other route."}
	case "ExternalCertificateValidationFailed":
		return []string{"The router cannot use the Secret spec.tls.externalCertificate names: it must be of type",
			"kubernetes.io/tls, in the route's namespace, and the router's service account must be allowed to get,",
			"list and watch it (a Role with resourceNames: [the secret] and a RoleBinding to the router's service account)."}
	case "ExternalCertificateSecretDeleted":
		return []string{"The Secret spec.tls.externalCertificate names was deleted: create it again (the route is then",
			"admitted again) or change the route."}
	}
	return nil
}

// claimants lists the routes holding the host, oldest first, when the user may list
// routes in every namespace.
func claimants(ctx context.Context, routes rest.Interface, r *routev1.Route) []string {
	list := &routev1.RouteList{}
	err := routes.Get().Resource("routes").Param("fieldSelector", fields.OneTermEqualSelector("spec.host", r.Spec.Host).String()).
		Do(ctx).Into(list)
	if apierrors.IsForbidden(err) {
		return []string{"(You may not list routes of other namespaces: a cluster administrator can tell who holds the host.)"}
	} else if err != nil {
		return []string{"(Listing the routes of the host failed: " + err.Error() + ")"}
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.UID < b.UID
	})
	lines := []string{"Routes of " + r.Spec.Host + ", oldest first:"}
	for _, o := range list.Items {
		path := o.Spec.Path
		if path == "" {
			path = "/"
		}
		mark := ""
		if o.Namespace == r.Namespace && o.Name == r.Name {
			mark = "  <- this route"
		}
		lines = append(lines, fmt.Sprintf("  %s/%s  created %s  path %s%s", o.Namespace, o.Name, o.CreationTimestamp.UTC().Format("2006-01-02 15:04:05"), path, mark))
	}
	return lines
}
