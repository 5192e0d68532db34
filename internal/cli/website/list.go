package website

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

func newListCommand(o *options) *cobra.Command {
	var allNamespaces bool
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Websites with their URL and readiness",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "name" {
				return usageError("--output must be name, not %q (kubectl get websites has the others)", output)
			}
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			var list extv1.WebsiteList
			opts := []client.ListOption{}
			if !allNamespaces {
				opts = append(opts, client.InNamespace(ns))
			}
			if err := c.List(cmd.Context(), &list, opts...); err != nil {
				return err
			}
			if output == "name" {
				for _, w := range list.Items {
					fmt.Fprintf(o.Out, "website.extensions.example.com/%s\n", w.Name)
				}
				return nil
			}
			return printTable(o.Out, list.Items, allNamespaces)
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the Websites of every namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "name prints the Websites' names only")
	return cmd
}

// printTable prints the columns of `kubectl get websites`.
func printTable(out io.Writer, items []extv1.Website, withNamespace bool) error {
	if len(items) == 0 {
		fmt.Fprintln(out, "No websites found.")
		return nil
	}
	w := printers.GetNewTabWriter(out)
	if withNamespace {
		fmt.Fprint(w, "NAMESPACE\t")
	}
	fmt.Fprintln(w, "NAME\tURL\tREADY\tREASON\tAGE")
	for _, site := range items {
		status, reason := "", ""
		if c := meta.FindStatusCondition(site.Status.Conditions, "Ready"); c != nil {
			status, reason = string(c.Status), c.Reason
		}
		if withNamespace {
			fmt.Fprintf(w, "%s\t", site.Namespace)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", site.Name, site.Status.URL, status, reason,
			duration.HumanDuration(time.Since(site.CreationTimestamp.Time)))
	}
	return w.Flush()
}
