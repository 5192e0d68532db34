package catalog

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sc "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
)

func newMarketplaceCommand(o *options) *cobra.Command {
	out := output{}
	cmd := &cobra.Command{
		Use:     "marketplace",
		Aliases: []string{"mp"},
		Short:   "List the classes the brokers offer, with their plans",
		Example: `  kubia catalog marketplace
  kubia catalog marketplace -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, _, err := o.client()
			if err != nil {
				return err
			}
			offers, err := listOffers(cmd, c)
			if err != nil {
				return err
			}
			if out.machine() {
				return printOffersList(o.Out, &out, offers)
			}
			return printOffers(o.Out, offers, out.format == outputWide)
		},
	}
	out.addFlag(cmd)
	return cmd
}

// offer is a class with the plans it offers now.
type offer struct {
	class sc.ClusterServiceClass
	plans []sc.ClusterServicePlan
}

// listOffers lists the classes and plans still in their brokers' catalogs, sorted by
// name.
func listOffers(cmd *cobra.Command, c client.Client) ([]offer, error) {
	classes := &sc.ClusterServiceClassList{}
	if err := c.List(cmd.Context(), classes); err != nil {
		return nil, fmt.Errorf("listing classes: %w", err)
	}
	plans := &sc.ClusterServicePlanList{}
	if err := c.List(cmd.Context(), plans); err != nil {
		return nil, fmt.Errorf("listing plans: %w", err)
	}
	byClass := map[string][]sc.ClusterServicePlan{}
	for _, p := range plans.Items {
		if !p.Status.RemovedFromBrokerCatalog {
			byClass[p.Spec.ClusterServiceClassRef.Name] = append(byClass[p.Spec.ClusterServiceClassRef.Name], p)
		}
	}
	var offers []offer
	for _, class := range classes.Items {
		if class.Status.RemovedFromBrokerCatalog {
			continue
		}
		plans := byClass[class.Name]
		sort.Slice(plans, func(i, j int) bool { return plans[i].Spec.ExternalName < plans[j].Spec.ExternalName })
		offers = append(offers, offer{class: class, plans: plans})
	}
	sort.Slice(offers, func(i, j int) bool { return offers[i].class.Spec.ExternalName < offers[j].class.Spec.ExternalName })
	return offers, nil
}

func printOffers(w io.Writer, offers []offer, wide bool) error {
	tw := printers.GetNewTabWriter(w)
	header := "CLASS\tPLANS\tDESCRIPTION"
	if wide {
		header = "CLASS\tPLANS\tBROKER\tBINDABLE\tPLAN UPDATABLE\tDESCRIPTION"
	}
	fmt.Fprintln(tw, header)
	for _, offer := range offers {
		names := make([]string, 0, len(offer.plans))
		for _, p := range offer.plans {
			names = append(names, p.Spec.ExternalName)
		}
		class := offer.class.Spec
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%t\t%s\n", class.ExternalName, strings.Join(names, ", "),
				class.ClusterServiceBrokerName, class.Bindable, class.PlanUpdatable, class.Description)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", class.ExternalName, strings.Join(names, ", "), class.Description)
	}
	if len(offers) == 0 {
		fmt.Fprintln(tw, "(no classes: register a ClusterServiceBroker, or see its status)")
	}
	return tw.Flush()
}

// printOffersList prints the classes and their plans as one List, as `kubectl get
// clusterserviceclasses,clusterserviceplans -o yaml` would.
func printOffersList(w io.Writer, out *output, offers []offer) error {
	list := &corev1.List{}
	add := func(obj runtime.Object, kind string) error {
		obj.GetObjectKind().SetGroupVersionKind(sc.GroupVersion.WithKind(kind))
		hideManagedFields(obj)
		raw, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		list.Items = append(list.Items, runtime.RawExtension{Raw: raw})
		return nil
	}
	for i := range offers {
		if err := add(&offers[i].class, "ClusterServiceClass"); err != nil {
			return err
		}
		for j := range offers[i].plans {
			if err := add(&offers[i].plans[j], "ClusterServicePlan"); err != nil {
				return err
			}
		}
	}
	return out.printObject(w, list)
}
