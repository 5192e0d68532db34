package catalog

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

func newSyncCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Ask for a broker's catalog to be fetched again now",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "broker NAME",
		Aliases: []string{"brokers", "clusterservicebroker", "csb"},
		Short:   "Fetch the broker's catalog now (bumps spec.relistRequests) instead of at its next relistInterval",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := o.client()
			if err != nil {
				return err
			}
			broker := &sc.ClusterServiceBroker{}
			// Raised on the resourceVersion read, again on a conflict: two concurrent
			// syncs each count.
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := c.Get(cmd.Context(), client.ObjectKey{Name: args[0]}, broker); err != nil {
					return fmt.Errorf("reading ClusterServiceBroker %q: %w", args[0], err)
				}
				before := broker.DeepCopy()
				broker.Spec.RelistRequests++
				return c.Patch(cmd.Context(), broker, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
			})
			if err != nil {
				return fmt.Errorf("requesting a relist of %q: %w", args[0], err)
			}
			fmt.Fprintf(o.Out, "Relist of ClusterServiceBroker %s requested (relistRequests %d)\n", broker.Name, broker.Spec.RelistRequests)
			return nil
		},
	})
	return cmd
}
