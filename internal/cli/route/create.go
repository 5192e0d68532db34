package route

import (
	"fmt"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCreateCommand is `oc create route`: `kubia create route edge|passthrough|reencrypt`.
func NewCreateCommand(streams genericiooptions.IOStreams) *cobra.Command {
	create := &cobra.Command{Use: "create", Short: "Create OpenShift objects kubectl create does not know"}
	route := &cobra.Command{Use: "route", Short: "Create a route that uses edge, passthrough or reencrypt TLS termination"}
	for _, t := range []routev1.TLSTerminationType{routev1.TLSTerminationEdge, routev1.TLSTerminationPassthrough, routev1.TLSTerminationReencrypt} {
		route.AddCommand(newCreateRouteCommand(streams, t))
	}
	create.AddCommand(route)
	return create
}

func newCreateRouteCommand(streams genericiooptions.IOStreams, termination routev1.TLSTerminationType) *cobra.Command {
	o := newOptions(streams)
	var service, hostname, port, path, insecure, wildcard, cert, key, caCert, destCACert string
	cmd := &cobra.Command{
		Use:   string(termination) + " [NAME] --service=SERVICE",
		Short: fmt.Sprintf("Create a route that uses %s TLS termination", termination),
		Example: fmt.Sprintf(`  # A %[1]s route named my-route to service frontend
  kubia create route %[1]s my-route --service=frontend`, termination),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if service == "" {
				return fmt.Errorf("you need to provide a service name via --service")
			}
			routes, kube, ns, err := o.clients()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			r, err := unsecuredRoute(cmd.Context(), kube, ns, name, service, port, false)
			if err != nil {
				return err
			}
			r.Spec.Host, r.Spec.Path = hostname, path
			if wildcard != "" {
				r.Spec.WildcardPolicy = routev1.WildcardPolicyType(wildcard)
			}
			r.Spec.TLS = &routev1.TLSConfig{Termination: termination, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyType(insecure)}
			for _, f := range []struct {
				path string
				into *string
			}{{cert, &r.Spec.TLS.Certificate}, {key, &r.Spec.TLS.Key}, {caCert, &r.Spec.TLS.CACertificate}, {destCACert, &r.Spec.TLS.DestinationCACertificate}} {
				if *f.into, err = loadFile(f.path); err != nil {
					return err
				}
			}
			return o.create(cmd.Context(), routes, r, "created")
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&service, "service", "", "Name of the service that the new route is exposing")
	cmd.Flags().StringVar(&hostname, "hostname", "", "Set a hostname for the new route")
	cmd.Flags().StringVar(&port, "port", "", "Name of the service port or number of the container port the route will route traffic to")
	cmd.Flags().StringVar(&insecure, "insecure-policy", "", "Set an insecure policy for the new route")
	cmd.Flags().StringVar(&wildcard, "wildcard-policy", "", `Sets the WilcardPolicy for the hostname, the default is "None". valid values are "None" and "Subdomain"`)
	if termination != routev1.TLSTerminationPassthrough {
		cmd.Flags().StringVar(&path, "path", "", "Path that the router watches to route traffic to the service.")
		cmd.Flags().StringVar(&cert, "cert", "", "Path to a certificate file.")
		cmd.Flags().StringVar(&key, "key", "", "Path to a key file.")
		cmd.Flags().StringVar(&caCert, "ca-cert", "", "Path to a CA certificate file.")
	}
	if termination == routev1.TLSTerminationReencrypt {
		cmd.Flags().StringVar(&destCACert, "dest-ca-cert", "", "Path to a CA certificate file, used for securing the connection from the router to the destination.")
	}
	return cmd
}
