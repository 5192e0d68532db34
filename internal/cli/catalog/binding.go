package catalog

import (
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

type bindOptions struct {
	name, secretName string
	paramFlags
	waitFlags
	output
}

func newBindCommand(o *options) *cobra.Command {
	b := bindOptions{}
	cmd := &cobra.Command{
		Use:     "bind INSTANCE",
		Short:   "Create a ServiceBinding: credentials for an instance, written into a Secret",
		Example: `  kubia catalog bind my-postgres-db --secret-name postgres-secret --wait`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := b.output.validate(); err != nil {
				return err
			}
			return o.bind(cmd, args[0], b)
		},
	}
	cmd.Flags().StringVar(&b.name, "name", "", "the binding's name (default: the instance's)")
	cmd.Flags().StringVar(&b.secretName, "secret-name", "", "the Secret the credentials go to (default: the binding's name)")
	b.paramFlags.addFlags(cmd)
	b.waitFlags.addFlags(cmd, "the credentials are in the Secret (or the binding Failed)")
	b.output.addFlag(cmd)
	return cmd
}

func (o *options) bind(cmd *cobra.Command, instance string, b bindOptions) error {
	c, ns, err := o.client()
	if err != nil {
		return err
	}
	err = c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: instance}, &sc.ServiceInstance{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no ServiceInstance %q in namespace %q", instance, ns)
	}
	if err != nil {
		return fmt.Errorf("reading the instance: %w", err)
	}
	params, err := b.raw()
	if err != nil {
		return err
	}
	name := b.name
	if name == "" {
		name = instance
	}
	binding := &sc.ServiceBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sc.ServiceBindingSpec{InstanceRef: sc.LocalObjectReference{Name: instance},
			SecretName: b.secretName, Parameters: params},
	}
	if err := c.Create(cmd.Context(), binding); err != nil {
		return fmt.Errorf("creating the binding: %w", err)
	}
	progress := o.progressWriter(b.output)
	fmt.Fprintf(progress, "%s created for instance %s\n", describeRef(binding), instance)
	if b.wait {
		if err := o.waitReady(cmd.Context(), c, binding, b.timeout, progress); err != nil {
			return err
		}
	}
	return o.show(cmd.Context(), c, binding, b.output)
}

func newUnbindCommand(o *options) *cobra.Command {
	var name string
	w := waitFlags{}
	cmd := &cobra.Command{
		Use:   "unbind INSTANCE | unbind --name BINDING",
		Short: "Delete an instance's bindings (or one, by name): the broker revokes the credentials, the Secrets go",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || (len(args) == 1) == (name != "") {
				return fmt.Errorf("give either an instance or --name of a binding")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			bindings, err := bindingsToDelete(cmd, c, ns, args, name)
			if err != nil {
				return err
			}
			for i := range bindings {
				if err := o.delete(cmd, c, &bindings[i], w); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "delete only this binding")
	w.addFlags(cmd, "the broker has unbound and the bindings are gone")
	return cmd
}

// bindingsToDelete is the binding named, or every binding of the instance given.
func bindingsToDelete(cmd *cobra.Command, c client.Client, ns string, args []string, name string) ([]sc.ServiceBinding, error) {
	if name != "" {
		return []sc.ServiceBinding{{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}}, nil
	}
	list := &sc.ServiceBindingList{}
	if err := c.List(cmd.Context(), list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing bindings: %w", err)
	}
	var of []sc.ServiceBinding
	for _, b := range list.Items {
		if b.Spec.InstanceRef.Name == args[0] {
			of = append(of, b)
		}
	}
	if len(of) == 0 {
		return nil, fmt.Errorf("instance %q in namespace %q has no bindings", args[0], ns)
	}
	return of, nil
}
