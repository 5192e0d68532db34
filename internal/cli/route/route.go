// Package route holds Kubia's commands for OpenShift Routes (route.openshift.io/v1, served
// by kubia-apiserver, served by kubia-router): `kubia expose service` and `kubia create
// route edge|passthrough|reencrypt`, which are oc's with its flags and output, and `kubia
// route describe`, which explains why a route is (not) admitted.
package route

import (
	"context"
	"fmt"
	"os"
	"strconv"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubia-dev/kubia/internal/router/controller"
)

// NewCommands returns the route commands, for the root command.
func NewCommands(streams genericiooptions.IOStreams) []*cobra.Command {
	return []*cobra.Command{NewExposeCommand(streams), NewCreateCommand(streams), NewRouteCommand(streams)}
}

// options are what every route command shares: kubectl's connection flags, the output
// format and the streams.
type options struct {
	config *genericclioptions.ConfigFlags
	output string
	genericiooptions.IOStreams
}

func newOptions(streams genericiooptions.IOStreams) *options {
	return &options{config: genericclioptions.NewConfigFlags(true), IOStreams: streams}
}

func (o *options) addFlags(cmd *cobra.Command) {
	o.config.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: name, yaml or json (default: a line saying what was done)")
}

func (o *options) clients() (rest.Interface, kubernetes.Interface, string, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, nil, "", err
	}
	routes, err := controller.RouteClient(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, "", err
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	return routes, kube, ns, err
}

// unsecuredRoute is oc's route to service: named after it unless name is given, with its
// labels, and the port the router sends to: port when given (a number is the container's
// port, a name the service port's), else the service's first TCP port by name (or its
// target port when unnamed and forcePort, as oc expose does).
func unsecuredRoute(ctx context.Context, kube kubernetes.Interface, ns, name, service, port string, forcePort bool) (*routev1.Route, error) {
	if name == "" {
		name = service
	}
	r := &routev1.Route{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: routev1.RouteSpec{To: routev1.RouteTargetReference{Kind: "Service", Name: service}}}
	svc, err := kube.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		if port == "" {
			return nil, fmt.Errorf("you need to provide a route port via --port when exposing a non-existent service")
		}
		r.Spec.Port = routePort(port)
		return r, nil
	}
	tcp, ok := firstTCPPort(svc)
	if !ok {
		return nil, fmt.Errorf("service %q doesn't support TCP", svc.Name)
	}
	r.Labels = svc.Labels
	switch {
	case port != "":
		r.Spec.Port = routePort(port)
	case tcp.Name != "":
		r.Spec.Port = routePort(tcp.Name)
	case forcePort:
		r.Spec.Port = routePort(svc.Spec.Ports[0].TargetPort.String())
	}
	return r, nil
}

func firstTCPPort(svc *corev1.Service) (corev1.ServicePort, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Protocol == corev1.ProtocolTCP || p.Protocol == "" {
			return p, true
		}
	}
	return corev1.ServicePort{}, false
}

func routePort(s string) *routev1.RoutePort {
	if n, err := strconv.Atoi(s); err == nil {
		return &routev1.RoutePort{TargetPort: intstr.FromInt32(int32(n))}
	}
	return &routev1.RoutePort{TargetPort: intstr.FromString(s)}
}

// create creates r and prints it, or "route.route.openshift.io/NAME <verb>" as oc does.
func (o *options) create(ctx context.Context, routes rest.Interface, r *routev1.Route, verb string) error {
	created := &routev1.Route{}
	if err := routes.Post().Namespace(r.Namespace).Resource("routes").Body(r).Do(ctx).Into(created); err != nil {
		return err
	}
	return printRoute(o.Out, created, o.output, verb)
}

// loadFile is oc's file loading of certificates: empty for no file.
func loadFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
