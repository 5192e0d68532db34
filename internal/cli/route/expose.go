package route

import (
	"fmt"
	"strings"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewExposeCommand is `oc expose service`: a Route to a Service.
func NewExposeCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := newOptions(streams)
	var name, hostname, path, port, wildcard, labelFlag string
	cmd := &cobra.Command{
		Use:   "expose service NAME [--hostname=HOST] [--path=PATH] [--port=PORT] [--name=NAME]",
		Short: "Expose a service as a route, as oc expose does",
		Example: `  # A route to service nginx, with a generated host (<route>-<namespace>.<router domain>)
  kubia expose service nginx

  # With a host and a path
  kubia expose service nginx --hostname=www.example.com --path=/nginx`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind := strings.ToLower(args[0]); kind != "service" && kind != "svc" && kind != "services" {
				return fmt.Errorf("kubia expose exposes services as routes only (%q given); kubectl expose makes services", args[0])
			}
			if wildcard != "" && wildcard != string(routev1.WildcardPolicySubdomain) && wildcard != string(routev1.WildcardPolicyNone) {
				return fmt.Errorf("only \"Subdomain\" or \"None\" are supported for wildcard-policy")
			}
			routes, kube, ns, err := o.clients()
			if err != nil {
				return err
			}
			r, err := unsecuredRoute(cmd.Context(), kube, ns, name, args[1], port, true)
			if err != nil {
				return err
			}
			if labelFlag != "" {
				parsed, err := labels.ConvertSelectorToLabelsMap(labelFlag)
				if err != nil {
					return fmt.Errorf("unable to parse labels: %w", err)
				}
				if r.Labels == nil {
					r.Labels = map[string]string{}
				}
				for k, v := range parsed {
					r.Labels[k] = v
				}
			}
			r.Spec.Host, r.Spec.Path, r.Spec.WildcardPolicy = hostname, path, routev1.WildcardPolicyType(wildcard)
			return o.create(cmd.Context(), routes, r, "exposed")
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&name, "name", "", "The name for the newly created route (default: the service's)")
	cmd.Flags().StringVar(&hostname, "hostname", "", "Set a hostname for the new route")
	cmd.Flags().StringVar(&path, "path", "", "Set a path for the new route")
	cmd.Flags().StringVar(&port, "port", "", "Name of the service port or number of the container port the route will route traffic to")
	cmd.Flags().StringVar(&wildcard, "wildcard-policy", "", `Sets the WildcardPolicy for the hostname, the default is "None". Valid values are "None" and "Subdomain"`)
	cmd.Flags().StringVarP(&labelFlag, "labels", "l", "", "Labels to apply to the route (default: the service's)")
	return cmd
}
