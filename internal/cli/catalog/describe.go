package catalog

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

func newDescribeCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe (instance|binding) NAME",
		Short: "Show an instance or a binding: its state, the broker's last word, its bindings or Secret",
	}
	for _, kind := range []struct {
		use     string
		aliases []string
		newObj  func() client.Object
	}{
		{"instance NAME", []string{"instances", "serviceinstance", "si"}, func() client.Object { return &sc.ServiceInstance{} }},
		{"binding NAME", []string{"bindings", "servicebinding", "sb"}, func() client.Object { return &sc.ServiceBinding{} }},
	} {
		out := output{}
		sub := &cobra.Command{
			Use:     kind.use,
			Aliases: kind.aliases,
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := out.validate(); err != nil {
					return err
				}
				c, ns, err := o.client()
				if err != nil {
					return err
				}
				obj := kind.newObj()
				if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, obj); err != nil {
					return fmt.Errorf("reading %s %q in namespace %q: %w", strings.Fields(kind.use)[0], args[0], ns, err)
				}
				return o.show(cmd.Context(), c, obj, out)
			},
		}
		out.addFlag(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

// describe writes obj for humans, like kubectl describe: wide adds identifiers, the
// broker operation's details and every condition.
func describe(ctx context.Context, w io.Writer, c client.Client, obj client.Object, wide bool) error {
	tw := printers.GetNewTabWriter(w)
	field := func(name, format string, args ...any) { fmt.Fprintf(tw, name+":\t"+format+"\n", args...) }
	field("Name", "%s", obj.GetName())
	field("Namespace", "%s", obj.GetNamespace())
	field("Status", "%s", statusLine(obj))
	var conds []metav1.Condition
	switch o := obj.(type) {
	case *sc.ServiceInstance:
		conds = o.Status.Conditions
		if err := describeInstance(ctx, field, c, o, wide); err != nil {
			return err
		}
	case *sc.ServiceBinding:
		conds = o.Status.Conditions
		if err := describeBinding(ctx, field, c, o, wide); err != nil {
			return err
		}
	}
	if wide {
		fmt.Fprintln(tw, "Conditions:")
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE\tGENERATION")
		for _, cond := range conds {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\n", cond.Type, cond.Status, cond.Reason, cond.Message, cond.ObservedGeneration)
		}
	}
	return tw.Flush()
}

// statusLine sums up an instance or binding in one line.
func statusLine(obj client.Object) string {
	conds := conditionsOf(obj)
	ready := meta.FindStatusCondition(conds, sc.ConditionReady)
	failed := meta.FindStatusCondition(conds, sc.ConditionFailed)
	switch {
	case ready == nil || ready.ObservedGeneration != obj.GetGeneration():
		if obj.GetDeletionTimestamp() != nil {
			return "Deleting"
		}
		return "Pending (not yet seen by kubia-controller-manager)"
	case obj.GetDeletionTimestamp() != nil:
		return fmt.Sprintf("Deleting - %s: %s", ready.Reason, ready.Message)
	case failed != nil && failed.Status == metav1.ConditionTrue:
		return fmt.Sprintf("Failed - %s: %s", failed.Reason, failed.Message)
	case ready.Status == metav1.ConditionTrue:
		return fmt.Sprintf("Ready - %s: %s", ready.Reason, ready.Message)
	}
	return fmt.Sprintf("Not ready - %s: %s", ready.Reason, ready.Message)
}

type fieldFunc func(name, format string, args ...any)

func describeInstance(ctx context.Context, field fieldFunc, c client.Client, inst *sc.ServiceInstance, wide bool) error {
	field("Class", "%s", inst.Spec.ClusterServiceClassName)
	field("Plan", "%s", inst.Spec.ClusterServicePlanName)
	field("Parameters", "%s", rawOrNone(inst.Spec.Parameters))
	for _, from := range inst.Spec.ParametersFrom {
		if ref := from.SecretKeyRef; ref != nil {
			field("Parameters from", "Secret %s, key %s", ref.Name, ref.Key)
		}
	}
	if inst.Status.DashboardURL != "" {
		field("Dashboard", "%s", inst.Status.DashboardURL)
	}
	if wide {
		field("External ID", "%s", inst.Spec.ExternalID)
		field("Provision status", "%s", inst.Status.ProvisionStatus)
		field("Deprovision status", "%s", inst.Status.DeprovisionStatus)
		field("Last operation", "%s", inst.Status.LastOperation)
		field("Operation in progress", "%t", inst.Status.AsyncOpInProgress)
		field("Generation", "%d (observed %d)", inst.Generation, inst.Status.ObservedGeneration)
	}
	bindings := &sc.ServiceBindingList{}
	if err := c.List(ctx, bindings, client.InNamespace(inst.Namespace)); err != nil {
		return fmt.Errorf("listing bindings: %w", err)
	}
	var of []string
	for _, b := range bindings.Items {
		if b.Spec.InstanceRef.Name == inst.Name {
			of = append(of, fmt.Sprintf("%s (%s)", b.Name, strings.SplitN(statusLine(&b), " -", 2)[0]))
		}
	}
	sort.Strings(of)
	field("Bindings", "%s", orNone(strings.Join(of, ", ")))
	return nil
}

func describeBinding(ctx context.Context, field fieldFunc, c client.Client, b *sc.ServiceBinding, wide bool) error {
	field("Instance", "%s", b.Spec.InstanceRef.Name)
	secretName := b.Spec.SecretName
	if secretName == "" {
		secretName = b.Name
	}
	secret := &corev1.Secret{}
	err := c.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: secretName}, secret)
	switch {
	case apierrors.IsNotFound(err):
		field("Secret", "%s (not written yet)", secretName)
	case apierrors.IsForbidden(err):
		field("Secret", "%s (you may not read it)", secretName)
	case err != nil:
		return fmt.Errorf("reading Secret %s: %w", secretName, err)
	default:
		// Only the keys: the values are credentials.
		keys := make([]string, 0, len(secret.Data))
		for k := range secret.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		field("Secret", "%s (keys: %s)", secretName, strings.Join(keys, ", "))
	}
	field("Parameters", "%s", rawOrNone(b.Spec.Parameters))
	if wide {
		field("External ID", "%s", b.Spec.ExternalID)
		field("Unbind status", "%s", b.Status.UnbindStatus)
		field("Last operation", "%s", b.Status.LastOperation)
		field("Operation in progress", "%t", b.Status.AsyncOpInProgress)
		field("Generation", "%d (observed %d)", b.Generation, b.Status.ObservedGeneration)
	}
	return nil
}

func rawOrNone(raw *runtime.RawExtension) string {
	if raw == nil {
		return "(none)"
	}
	return string(raw.Raw)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
