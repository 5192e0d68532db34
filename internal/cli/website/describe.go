package website

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	controller "github.com/kubia-dev/kubia/internal/controller/website"
)

func newDescribeCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a Website's spec, status, conditions, events and children",
		Args:  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			var w extv1.Website
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, &w); err != nil {
				return err
			}
			return describe(cmd.Context(), o.Out, c, &w)
		},
	}
}

func exactlyOneName(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError("expected one argument, the Website's name (got %d)", len(args))
	}
	return nil
}

func describe(ctx context.Context, out io.Writer, c client.Client, w *extv1.Website) error {
	tw := printers.GetNewTabWriter(out)
	field := func(name string, value any) { fmt.Fprintf(tw, "%s:\t%v\n", name, value) }
	field("Name", w.Name)
	field("Namespace", w.Namespace)
	field("Created", w.CreationTimestamp.Format(time.RFC3339))
	field("Git repository", w.Spec.GitRepo)
	field("Ref", orDefault(w.Spec.Ref, "(the repository's HEAD)"))
	if w.Spec.SyncInterval != nil {
		field("Sync interval", w.Spec.SyncInterval.Duration)
	}
	if w.Spec.Replicas != nil {
		field("Replicas", *w.Spec.Replicas)
	}
	field("Service type", w.Spec.ServiceType)
	if w.Spec.SecretRef != nil {
		field("Credentials", "Secret "+w.Spec.SecretRef.Name)
	}
	if w.Spec.Ingress != nil {
		field("Ingress host", w.Spec.Ingress.Host)
	}
	field("URL", orDefault(w.Status.URL, "(none yet)"))
	field("Commit", orDefault(w.Status.Commit, "(not synced yet)"))
	field("Observed generation", fmt.Sprintf("%d of %d", w.Status.ObservedGeneration, w.Generation))
	if err := tw.Flush(); err != nil {
		return err
	}
	describeConditions(out, w)
	if err := describeChildren(ctx, out, c, w); err != nil {
		return err
	}
	return describeEvents(ctx, out, c, w)
}

func describeConditions(out io.Writer, w *extv1.Website) {
	fmt.Fprintln(out, "Conditions:")
	if len(w.Status.Conditions) == 0 {
		fmt.Fprintln(out, "  (none: the controller has not reported yet)")
		return
	}
	tw := printers.GetNewTabWriter(out)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE")
	for _, c := range w.Status.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	_ = tw.Flush()
}

func describeChildren(ctx context.Context, out io.Writer, c client.Client, w *extv1.Website) error {
	fmt.Fprintln(out, "Children:")
	key := client.ObjectKey{Namespace: w.Namespace, Name: controller.ChildName(w)}
	var d appsv1.Deployment
	switch err := c.Get(ctx, key, &d); {
	case apierrors.IsNotFound(err):
		fmt.Fprintf(out, "  Deployment %s: not created yet\n", key.Name)
	case err != nil:
		return fmt.Errorf("reading Deployment %s: %w", key.Name, err)
	default:
		fmt.Fprintf(out, "  Deployment %s: %d/%d ready\n", key.Name, d.Status.ReadyReplicas, d.Status.Replicas)
	}
	var svc corev1.Service
	switch err := c.Get(ctx, key, &svc); {
	case apierrors.IsNotFound(err):
		fmt.Fprintf(out, "  Service %s: not created yet\n", key.Name)
	case err != nil:
		return fmt.Errorf("reading Service %s: %w", key.Name, err)
	default:
		ports := make([]string, 0, len(svc.Spec.Ports))
		for _, p := range svc.Spec.Ports {
			s := fmt.Sprint(p.Port)
			if p.NodePort != 0 {
				s += fmt.Sprintf(":%d", p.NodePort)
			}
			ports = append(ports, s+"/"+string(p.Protocol))
		}
		fmt.Fprintf(out, "  Service %s: %s %s %s\n", key.Name, svc.Spec.Type, svc.Spec.ClusterIP, strings.Join(ports, ","))
	}
	if w.Spec.Ingress == nil {
		return nil
	}
	var ing networkingv1.Ingress
	switch err := c.Get(ctx, key, &ing); {
	case apierrors.IsNotFound(err):
		fmt.Fprintf(out, "  Ingress %s: not created yet\n", key.Name)
	case err != nil:
		return fmt.Errorf("reading Ingress %s: %w", key.Name, err)
	default:
		fmt.Fprintf(out, "  Ingress %s: host %s\n", key.Name, w.Spec.Ingress.Host)
	}
	return nil
}

// describeEvents prints the Website's events, oldest first, as kubectl describe does.
func describeEvents(ctx context.Context, out io.Writer, c client.Client, w *extv1.Website) error {
	var events corev1.EventList
	err := c.List(ctx, &events, client.InNamespace(w.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("involvedObject.uid", string(w.UID))})
	if err != nil {
		return fmt.Errorf("listing events: %w", err)
	}
	fmt.Fprintln(out, "Events:")
	if len(events.Items) == 0 {
		fmt.Fprintln(out, "  <none>")
		return nil
	}
	sort.Slice(events.Items, func(i, j int) bool { return lastSeen(&events.Items[i]).Before(lastSeen(&events.Items[j])) })
	tw := printers.GetNewTabWriter(out)
	fmt.Fprintln(tw, "  TYPE\tREASON\tAGE\tFROM\tMESSAGE")
	for i := range events.Items {
		e := &events.Items[i]
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, duration.HumanDuration(time.Since(lastSeen(e))), from, strings.TrimSpace(e.Message))
	}
	return tw.Flush()
}

func lastSeen(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newOpenCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "open NAME",
		Short: "Print the URL a Website is served at",
		Long:  "Prints the Website's URL; exits with code 3 when it has none yet (no web server available).",
		Args:  exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			var w extv1.Website
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, &w); err != nil {
				return err
			}
			if w.Status.URL == "" {
				why := "the controller has not reported yet"
				if ready := meta.FindStatusCondition(w.Status.Conditions, "Ready"); ready != nil {
					why = ready.Reason + ": " + ready.Message
				}
				return &ExitError{Code: ExitNotReady, Err: fmt.Errorf("website %s has no URL yet (%s)", w.Name, why)}
			}
			fmt.Fprintln(o.Out, w.Status.URL)
			return nil
		},
	}
}

func newDeleteCommand(o *options) *cobra.Command {
	var waitGone bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete Websites (their Deployment, Service and Ingress go with them)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("delete takes the names of the Websites to delete")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			for _, name := range args {
				w := &extv1.Website{}
				w.Name, w.Namespace = name, ns
				if err := c.Delete(cmd.Context(), w, client.PropagationPolicy("Foreground")); err != nil {
					return err
				}
				if waitGone {
					ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
					err := o.waitDeleted(ctx, c, w)
					cancel()
					if err != nil {
						return &ExitError{Code: ExitNotReady, Err: fmt.Errorf("website %s not gone after %s: %w", name, timeout, err)}
					}
				}
				fmt.Fprintf(o.Out, "website.extensions.example.com %q deleted\n", name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&waitGone, "wait", true, "wait until the Website and its children are gone")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits")
	return cmd
}

func (o *options) waitDeleted(ctx context.Context, c client.Client, w *extv1.Website) error {
	for {
		err := c.Get(ctx, client.ObjectKeyFromObject(w), w)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.pollInterval):
		}
	}
}
