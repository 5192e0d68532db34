package catalog

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/internal/controller/clusterservicebroker"
)

type provisionOptions struct {
	class, plan string
	paramFlags
	waitFlags
	output
}

func newProvisionCommand(o *options) *cobra.Command {
	p := provisionOptions{}
	cmd := &cobra.Command{
		Use:   "provision NAME --class CLASS --plan PLAN",
		Short: "Create a ServiceInstance: ask a broker for an instance of a class and plan",
		Example: `  kubia catalog provision my-postgres-db --class postgres-database --plan free \
    --param init-db-args=--data-checksums --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := p.validate(); err != nil {
				return err
			}
			return o.provision(cmd, args[0], p)
		},
	}
	cmd.Flags().StringVar(&p.class, "class", "", "the class's name, as kubia catalog marketplace lists it (required)")
	cmd.Flags().StringVar(&p.plan, "plan", "", "the plan's name (required)")
	p.paramFlags.addFlags(cmd)
	p.waitFlags.addFlags(cmd, "the instance is Ready (or Failed)")
	p.output.addFlag(cmd)
	return cmd
}

func (p provisionOptions) validate() error {
	if p.class == "" || p.plan == "" {
		return fmt.Errorf("--class and --plan are required (`kubia catalog marketplace` lists them)")
	}
	return p.output.validate()
}

func (o *options) provision(cmd *cobra.Command, name string, p provisionOptions) error {
	c, ns, err := o.client()
	if err != nil {
		return err
	}
	if err := checkOffered(cmd, c, p.class, p.plan); err != nil {
		return err
	}
	params, err := p.raw()
	if err != nil {
		return err
	}
	inst := &sc.ServiceInstance{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sc.ServiceInstanceSpec{ClusterServiceClassName: p.class, ClusterServicePlanName: p.plan, Parameters: params},
	}
	if err := c.Create(cmd.Context(), inst); err != nil {
		return fmt.Errorf("creating the instance: %w", err)
	}
	progress := o.progressWriter(p.output)
	fmt.Fprintf(progress, "%s created: class %s, plan %s\n", describeRef(inst), p.class, p.plan)
	if p.wait {
		if err := o.waitReady(cmd.Context(), c, inst, p.timeout, progress); err != nil {
			return err
		}
	}
	return o.show(cmd.Context(), c, inst, p.output)
}

// checkOffered fails with a helpful message when the class or plan is not in any
// broker's catalog, rather than creating an instance that can only wait.
func checkOffered(cmd *cobra.Command, c client.Client, class, plan string) error {
	err := c.Get(cmd.Context(), client.ObjectKey{Name: clusterservicebroker.ClassName(class)}, &sc.ClusterServiceClass{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no class %q: `kubia catalog marketplace` lists the classes", class)
	}
	if err != nil {
		return fmt.Errorf("reading class %q: %w", class, err)
	}
	planObj := &sc.ClusterServicePlan{}
	err = c.Get(cmd.Context(), client.ObjectKey{Name: clusterservicebroker.PlanName(class, plan)}, planObj)
	if apierrors.IsNotFound(err) || (err == nil && planObj.Status.RemovedFromBrokerCatalog) {
		return fmt.Errorf("class %q has no plan %q: `kubia catalog marketplace` lists its plans", class, plan)
	}
	if err != nil {
		return fmt.Errorf("reading plan %q: %w", plan, err)
	}
	return nil
}

func newDeprovisionCommand(o *options) *cobra.Command {
	w := waitFlags{}
	cmd := &cobra.Command{
		Use:   "deprovision NAME",
		Short: "Delete a ServiceInstance: the broker deprovisions it once its bindings are gone",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			inst := &sc.ServiceInstance{ObjectMeta: metav1.ObjectMeta{Name: args[0], Namespace: ns}}
			return o.delete(cmd, c, inst, w)
		},
	}
	w.addFlags(cmd, "the broker has deprovisioned the instance and it is gone")
	return cmd
}

// delete deletes obj and, with --wait, waits until the controller has released it.
func (o *options) delete(cmd *cobra.Command, c client.Client, obj client.Object, w waitFlags) error {
	if err := c.Delete(cmd.Context(), obj); err != nil {
		return fmt.Errorf("deleting %s: %w", describeRef(obj), err)
	}
	fmt.Fprintf(o.Out, "%s deleted\n", describeRef(obj))
	if !w.wait {
		return nil
	}
	return o.waitGone(cmd.Context(), c, obj, w.timeout, o.Out)
}

// progressWriter is where progress lines go: the output, unless it carries YAML or JSON.
func (o *options) progressWriter(out output) io.Writer {
	if out.machine() {
		return o.ErrOut
	}
	return o.Out
}

// show prints obj as -o asks: YAML, JSON, or its description.
func (o *options) show(ctx context.Context, c client.Client, obj client.Object, out output) error {
	if out.machine() {
		return out.printObject(o.Out, obj)
	}
	return describe(ctx, o.Out, c, obj, out.format == outputWide)
}
