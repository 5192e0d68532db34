package catalog

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

// waitFlags are --wait and --timeout.
type waitFlags struct {
	wait    bool
	timeout time.Duration
}

func (f *waitFlags) addFlags(cmd *cobra.Command, until string) {
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait, showing progress, until "+until)
	cmd.Flags().DurationVar(&f.timeout, "timeout", 10*time.Minute, "how long --wait waits")
}

// conditionsOf returns the conditions of an instance or a binding.
func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *sc.ServiceInstance:
		return o.Status.Conditions
	case *sc.ServiceBinding:
		return o.Status.Conditions
	}
	return nil
}

// describeRef names obj for messages: its kind and namespace/name.
func describeRef(obj client.Object) string {
	kind := "ServiceBinding"
	if _, ok := obj.(*sc.ServiceInstance); ok {
		kind = "ServiceInstance"
	}
	return fmt.Sprintf("%s %s/%s", kind, obj.GetNamespace(), obj.GetName())
}

// progress prints the Ready condition of obj's current generation each time it changes.
type progress struct {
	w    io.Writer
	last string
}

// report prints obj's Ready condition if it changed, and returns it (nil while the
// controller has not looked at this generation yet).
func (p *progress) report(obj client.Object) *metav1.Condition {
	ready := meta.FindStatusCondition(conditionsOf(obj), sc.ConditionReady)
	if ready == nil || ready.ObservedGeneration != obj.GetGeneration() {
		return nil
	}
	if line := ready.Reason + ": " + ready.Message; line != p.last {
		fmt.Fprintf(p.w, "  %s\n", line)
		p.last = line
	}
	return ready
}

// waitReady waits until obj (read into obj) is Ready, or fails with the reason the
// controller gave when it is Failed.
func (o *options) waitReady(ctx context.Context, c client.Client, obj client.Object, timeout time.Duration, w io.Writer) error {
	fmt.Fprintf(w, "Waiting for %s to be ready...\n", describeRef(obj))
	p := progress{w: w}
	return o.poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, fmt.Errorf("reading %s: %w", describeRef(obj), err)
		}
		ready := p.report(obj)
		if failed := meta.FindStatusCondition(conditionsOf(obj), sc.ConditionFailed); failed != nil &&
			failed.Status == metav1.ConditionTrue && failed.ObservedGeneration == obj.GetGeneration() {
			return false, fmt.Errorf("%s failed: %s: %s", describeRef(obj), failed.Reason, failed.Message)
		}
		return ready != nil && ready.Status == metav1.ConditionTrue, nil
	}, &p)
}

// waitGone waits until obj is deleted, showing why it is not yet (deprovisioning,
// blocked by bindings...).
func (o *options) waitGone(ctx context.Context, c client.Client, obj client.Object, timeout time.Duration, w io.Writer) error {
	fmt.Fprintf(w, "Waiting for %s to be deleted...\n", describeRef(obj))
	p := progress{w: w}
	return o.poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading %s: %w", describeRef(obj), err)
		}
		p.report(obj)
		return false, nil
	}, &p)
}

// readTimeout bounds each read of --wait, so an API server that stops answering cannot
// hold the command past --timeout for long.
const readTimeout = 30 * time.Second

// poll calls done every pollInterval until it is done or fails, or timeout passes. The
// reads get their own bound from ctx, not the poll's deadline: a read the deadline cut
// short (the client's rate limiter refuses to wait past one) would fail the command
// instead of timing it out.
func (o *options) poll(ctx context.Context, timeout time.Duration, done func(context.Context) (bool, error), p *progress) error {
	err := wait.PollUntilContextTimeout(ctx, o.pollInterval, timeout, true, func(context.Context) (bool, error) {
		readCtx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		return done(readCtx)
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("gave up after %s; last state: %q", timeout, p.last)
	}
	return err
}
