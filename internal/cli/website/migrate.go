package website

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	controller "github.com/kubia-dev/kubia/internal/controller/website"
)

// migratedFromAnnotation marks a child released by `migrate export`: the UID of the
// Website that owned it, so `migrate import` gives it to the Website recreated in its
// place (which has a new UID) and to no other.
const migratedFromAnnotation = "kubia.dev/migrated-from-website-uid"

func newMigrateCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move Websites from the CRD to kubia-apiserver without touching their sites",
		Long: `Switching a cluster from the Website CRD to kubia-apiserver changes where Websites are
stored; the CRD's stay in kube-apiserver's etcd, hidden by kubia-apiserver's APIServices.
Two steps carry them over, and their Deployments, Services and Ingresses keep running:

  1. While the CRD serves Websites:     kubia website migrate export -f websites.yaml
     (writes every Website to the file, then releases their children from the garbage
     collector: a child owned by a Website that vanishes would be deleted)
  2. Enable kubia-apiserver (helm upgrade --set apiserver.enabled=true, or kubia up)
  3. Then:                              kubia website migrate import -f websites.yaml
     (creates the Websites in kubia-apiserver and gives each its children back)

Both steps can be run again after a failure.`,
	}
	cmd.AddCommand(
		newMigrateStep(o, "export", "Save every Website to FILE and release their children", MigrateExport),
		newMigrateStep(o, "import", "Create the Websites of FILE and give them their children back", MigrateImport))
	return cmd
}

// newMigrateStep is `migrate export` or `migrate import`: run on the file of -f.
func newMigrateStep(o *options, name, short string, step func(context.Context, client.Client, string, io.Writer) error) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   name + " -f FILE",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("-f FILE is required")
			}
			c, _, err := o.client()
			if err != nil {
				return err
			}
			return step(cmd.Context(), c, file, o.Out)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the file of the Websites")
	return cmd
}

// MigrateExport saves every Website to file and releases their children from the garbage
// collector (step 1 of switching to kubia-apiserver). It writes the file before releasing
// anything, so a failure midway leaves every Website saved; children already released
// are recognised again by their annotation.
func MigrateExport(ctx context.Context, c client.Client, file string, out io.Writer) error {
	var list extv1.WebsiteList
	if err := c.List(ctx, &list); err != nil {
		return fmt.Errorf("listing Websites: %w", err)
	}
	saved := extv1.WebsiteList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, w := range list.Items {
		saved.Items = append(saved.Items, portable(w))
	}
	data, err := yaml.Marshal(&saved)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	for i := range list.Items {
		w := &list.Items[i]
		for _, child := range children(w) {
			if err := release(ctx, c, w, child); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "website %s/%s saved, children released\n", w.Namespace, w.Name)
	}
	fmt.Fprintf(out, "%d Websites saved to %s\n", len(list.Items), file)
	return nil
}

// portable is w as it can be created again: its spec, labels and annotations, and its UID
// (which import uses to find its children, not to set: the API server assigns UIDs).
func portable(w extv1.Website) extv1.Website {
	annotations := w.Annotations
	delete(annotations, "kubectl.kubernetes.io/last-applied-configuration")
	return extv1.Website{
		TypeMeta: metav1.TypeMeta{APIVersion: extv1.GroupVersion.String(), Kind: "Website"},
		ObjectMeta: metav1.ObjectMeta{
			Name: w.Name, Namespace: w.Namespace, UID: w.UID, Labels: w.Labels, Annotations: annotations,
		},
		Spec: w.Spec,
	}
}

// children are the objects the controller creates for w.
func children(w *extv1.Website) []client.Object {
	meta := metav1.ObjectMeta{Name: controller.ChildName(w), Namespace: w.Namespace}
	objs := []client.Object{&appsv1.Deployment{ObjectMeta: meta}, &corev1.Service{ObjectMeta: meta}}
	if w.Spec.Ingress != nil {
		objs = append(objs, &networkingv1.Ingress{ObjectMeta: meta})
	}
	return objs
}

// release removes w's owner reference from child and records w's UID on it.
func release(ctx context.Context, c client.Client, w *extv1.Website, child client.Object) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(child), child); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading %T %s: %w", child, child.GetName(), err)
	}
	refs, owned := withoutOwner(child.GetOwnerReferences(), w.UID)
	if !owned {
		return nil // not w's, or released already
	}
	patch := client.MergeFrom(child.DeepCopyObject().(client.Object))
	child.SetOwnerReferences(refs)
	setAnnotation(child, migratedFromAnnotation, string(w.UID))
	if err := c.Patch(ctx, child, patch); err != nil {
		return fmt.Errorf("releasing %T %s: %w", child, child.GetName(), err)
	}
	return nil
}

func withoutOwner(refs []metav1.OwnerReference, uid types.UID) ([]metav1.OwnerReference, bool) {
	out := make([]metav1.OwnerReference, 0, len(refs))
	found := false
	for _, r := range refs {
		if r.UID == uid {
			found = true
			continue
		}
		out = append(out, r)
	}
	return out, found
}

func setAnnotation(obj client.Object, key, value string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[key] = value
	obj.SetAnnotations(a)
}

// MigrateImport creates the Websites of a MigrateExport file, now served by kubia-apiserver,
// and gives each its released children back (step 3).
func MigrateImport(ctx context.Context, c client.Client, file string, out io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("reading %s: %w", file, err)}
	}
	var saved extv1.WebsiteList
	if err := yaml.UnmarshalStrict(data, &saved); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s is not a file of migrate export: %w", file, err)}
	}
	var errs []error
	for _, w := range saved.Items {
		if err := importWebsite(ctx, c, w); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "website %s/%s created, children adopted\n", w.Namespace, w.Name)
	}
	return errors.Join(errs...)
}

// importWebsite creates w (again, when it exists from an earlier run) and gives it the
// children released from the Website whose UID it had.
func importWebsite(ctx context.Context, c client.Client, w extv1.Website) error {
	oldUID := w.UID
	created := w.DeepCopy()
	created.UID = ""
	if err := c.Create(ctx, created); apierrors.IsAlreadyExists(err) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(created), created); err != nil {
			return fmt.Errorf("reading website %s/%s: %w", w.Namespace, w.Name, err)
		}
	} else if err != nil {
		return fmt.Errorf("creating website %s/%s: %w", w.Namespace, w.Name, err)
	}
	if created.UID == oldUID {
		return fmt.Errorf("website %s/%s still has its old UID: is kubia-apiserver serving Websites yet?", w.Namespace, w.Name)
	}
	for _, child := range children(created) {
		if err := adopt(ctx, c, created, oldUID, child); err != nil {
			return err
		}
	}
	return nil
}

func adopt(ctx context.Context, c client.Client, w *extv1.Website, oldUID types.UID, child client.Object) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(child), child); apierrors.IsNotFound(err) {
		return nil // the controller creates it
	} else if err != nil {
		return fmt.Errorf("reading %T %s: %w", child, child.GetName(), err)
	}
	if child.GetAnnotations()[migratedFromAnnotation] != string(oldUID) {
		return nil // not released by export for this Website: leave it to the controller
	}
	patch := client.MergeFrom(child.DeepCopyObject().(client.Object))
	child.SetOwnerReferences(append(child.GetOwnerReferences(), metav1.OwnerReference{
		APIVersion: extv1.GroupVersion.String(), Kind: "Website", Name: w.Name, UID: w.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}))
	annotations := child.GetAnnotations()
	delete(annotations, migratedFromAnnotation)
	child.SetAnnotations(annotations)
	if err := c.Patch(ctx, child, patch); err != nil {
		return fmt.Errorf("adopting %T %s: %w", child, child.GetName(), err)
	}
	return nil
}
