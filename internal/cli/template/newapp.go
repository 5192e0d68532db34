package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	templatev1 "github.com/openshift/api/template/v1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

const newAppLong = `Create an application from a template, through a TemplateInstance.

The template is looked up in the current namespace, then in "openshift", where Kubia keeps
its starter templates and shared templates live, as on OpenShift. Its parameters are
processed on the server first (kubia-apiserver's processedtemplates), so a missing required
parameter or an unknown one fails before anything is created. Then every parameter value,
generated ones included, goes into a Secret, and a TemplateInstance naming it is created:
kubia-controller-manager creates the template's objects with your permissions. The command
waits until the instance is ready (the objects the template waits for, such as Deployments,
report ready), printing what was created.

Unlike oc new-app, which creates the objects itself, the TemplateInstance owns them: deleting
it (kubectl delete templateinstance NAME) deletes them all, and its parameters' Secret.`

const newAppExample = `  # Create a PostgreSQL database from the starter catalog, with a generated password
  kubia new-app --template postgresql-persistent

  # Set parameters, and name the instance
  kubia new-app --template postgresql-ephemeral -p POSTGRESQL_DATABASE=shop --name shop-db

  # Use a template of another namespace
  kubia new-app --template team-templates/backend`

// sharedNamespace is where templates are looked up after the current namespace, as oc
// new-app does.
const sharedNamespace = "openshift"

// secretOwnerLabel marks the parameters' Secret new-app made for an instance, so that a run
// interrupted between the Secret and the instance reuses it instead of failing.
const secretOwnerLabel = "kubia.dev/new-app-instance"

// newAppOptions are `kubia new-app`'s flags.
type newAppOptions struct {
	*options
	paramOptions
	template string
	name     string
	timeout  time.Duration
}

// NewNewAppCommand returns `kubia new-app --template`: a TemplateInstance of a stored
// template, and a wait for it with progress.
func NewNewAppCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &newAppOptions{options: newOptions(streams)}
	cmd := &cobra.Command{
		Use:          "new-app --template NAME [-p KEY=VALUE]...",
		Short:        "Create an application from a template",
		Long:         newAppLong,
		Example:      newAppExample,
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE:         func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.paramOptions.addFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.template, "template", "", "Name of a stored template (NAME or NAMESPACE/NAME) to instantiate")
	fl.StringVar(&o.name, "name", "", "Name of the TemplateInstance (default: the template's name)")
	fl.DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long to wait for the instance to be ready (it goes on in the cluster after that)")
	o.config.AddFlags(fl)
	return cmd
}

// newAppClients are the clients new-app needs.
type newAppClients struct {
	templates rest.Interface
	core      kubernetes.Interface
}

func (o *newAppOptions) run(cmd *cobra.Command) error {
	if o.template == "" {
		return usageErrorf(cmd, "--template is required: the name of a stored template")
	}
	params, repeated, err := o.readParams(o.params, o.In, o.ErrOut)
	if repeated != nil {
		return usageErrorf(cmd, "%v", repeated)
	}
	if err != nil {
		return err
	}
	namespace, _, err := o.namespace()
	if err != nil {
		return err
	}
	clients, err := o.clients()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	tpl, err := findTemplate(ctx, clients.templates, namespace, o.template)
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name = tpl.Name
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return usageErrorf(cmd, "invalid TemplateInstance name %q: %s (set --name)", name, strings.Join(errs, "; "))
	}

	stored := instanceTemplate(tpl)
	toProcess := stored.DeepCopy()
	toProcess.Namespace = namespace
	if err := templateprocessing.SetParameters(toProcess, params, o.ignoreUnknown); err != nil {
		return oneErrorPerLine(err)
	}
	processed, err := processOnServer(ctx, clients.templates, namespace, toProcess)
	if err != nil {
		return err
	}
	describeTemplate(o.Out, processed, tpl.Namespace, namespace)

	secret, err := saveParameters(ctx, clients.core, namespace, name, processed.Parameters)
	if err != nil {
		return err
	}
	ti, err := createInstance(ctx, clients, namespace, name, stored, secret)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "--> Creating resources ...")
	return o.wait(ctx, clients.templates, ti)
}

func (o *newAppOptions) clients() (newAppClients, error) {
	templates, err := o.templateClient()
	if err != nil {
		return newAppClients{}, err
	}
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return newAppClients{}, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return newAppClients{}, err
	}
	return newAppClients{templates: templates, core: core}, nil
}

// findTemplate reads the template ref names: NAMESPACE/NAME, or NAME in namespace and
// then in "openshift", with oc new-app's message when there is none.
func findTemplate(ctx context.Context, c rest.Interface, namespace, ref string) (*templatev1.Template, error) {
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		return getTemplate(ctx, c, ns, name)
	}
	for _, ns := range slices.Compact([]string{namespace, sharedNamespace}) {
		tpl := &templatev1.Template{}
		err := c.Get().Namespace(ns).Resource("templates").Name(ref).Do(ctx).Into(tpl)
		switch {
		case err == nil:
			return tpl, nil
		// A namespace the user may not read is one more place it is not.
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		default:
			return nil, fmt.Errorf("reading template %s/%s: %w", ns, ref, err)
		}
	}
	return nil, fmt.Errorf("unable to locate any templates loaded in accessible projects with name %q", ref)
}

// instanceTemplate is tpl as a TemplateInstance embeds it: its content, its name, labels
// and annotations, none of its server-set metadata.
func instanceTemplate(tpl *templatev1.Template) templatev1.Template {
	out := *tpl.DeepCopy()
	out.ObjectMeta = metav1.ObjectMeta{Name: tpl.Name, Labels: tpl.Labels, Annotations: tpl.Annotations}
	out.TypeMeta = metav1.TypeMeta{}
	return out
}

// describeTemplate prints what oc new-app prints before creating a template's objects:
// its display name, description and (processed) message, and every parameter's value.
func describeTemplate(out io.Writer, processed *templatev1.Template, templateNamespace, namespace string) {
	qualified := processed.Name
	if templateNamespace != namespace {
		qualified = templateNamespace + "/" + processed.Name
	}
	fmt.Fprintf(out, "--> Deploying template %q to project %s\n\n", qualified, namespace)
	description := processed.Annotations["description"]
	if processed.Message != "" || description != "" {
		name := processed.Annotations["openshift.io/display-name"]
		if name == "" {
			name = processed.Name
		}
		fmt.Fprintf(out, "     %s\n     ---------\n", name)
		for _, text := range []string{description, processed.Message} {
			if text != "" {
				printIndented(out, "     ", text)
				fmt.Fprintln(out)
			}
		}
	}
	if len(processed.Parameters) == 0 {
		return
	}
	fmt.Fprintln(out, "     * With parameters:")
	for _, p := range processed.Parameters {
		name := p.DisplayName
		if name == "" {
			name = p.Name
		}
		generated := ""
		if p.Generate != "" {
			generated = " # generated"
		}
		fmt.Fprintf(out, "        * %s=%s%s\n", name, p.Value, generated)
	}
	fmt.Fprintln(out)
}

func printIndented(out io.Writer, indent, text string) {
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(out, "%s%s\n", indent, line)
	}
}

// parametersSecretName is the Secret of the instance's parameter values.
func parametersSecretName(instance string) string { return instance + "-parameters" }

// saveParameters stores every parameter value, the generated ones too: the instance then
// generates none, so the values printed above are the ones its objects get. A Secret left
// by an interrupted run for the same instance (labelled so, owned by nothing) is reused.
func saveParameters(ctx context.Context, c kubernetes.Interface, namespace, instance string, params []templatev1.Parameter) (*corev1.Secret, error) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: parametersSecretName(instance), Namespace: namespace,
			Labels: map[string]string{secretOwnerLabel: instance}},
		StringData: map[string]string{},
	}
	for _, p := range params {
		if p.Value != "" {
			secret.StringData[p.Name] = p.Value
		}
	}
	secrets := c.CoreV1().Secrets(namespace)
	created, err := secrets.Create(ctx, secret, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return nil, fmt.Errorf("creating the parameters' Secret %s: %w", secret.Name, err)
		}
		return created, nil
	}
	existing, err := secrets.Get(ctx, secret.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the parameters' Secret %s: %w", secret.Name, err)
	}
	if existing.Labels[secretOwnerLabel] != instance || len(existing.OwnerReferences) > 0 {
		return nil, fmt.Errorf("secret %q already exists; choose another instance name with --name", secret.Name)
	}
	existing.Data, existing.StringData = nil, secret.StringData
	updated, err := secrets.Update(ctx, existing, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating the parameters' Secret %s left by an interrupted run: %w", secret.Name, err)
	}
	return updated, nil
}

// createInstance creates the TemplateInstance, then makes it the owner of its Secret, so
// that deleting the instance deletes the Secret too. When the instance cannot be created
// the Secret is deleted: nothing is left behind.
func createInstance(ctx context.Context, clients newAppClients, namespace, name string, tpl templatev1.Template, secret *corev1.Secret) (*templatev1.TemplateInstance, error) {
	ti := &templatev1.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       templatev1.TemplateInstanceSpec{Template: tpl, Secret: &corev1.LocalObjectReference{Name: secret.Name}},
	}
	created := &templatev1.TemplateInstance{}
	err := clients.templates.Post().Namespace(namespace).Resource("templateinstances").Body(ti).Do(ctx).Into(created)
	if err != nil {
		cleanup := clients.core.CoreV1().Secrets(namespace).Delete(context.WithoutCancel(ctx), secret.Name,
			metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &secret.UID}})
		if apierrors.IsAlreadyExists(err) {
			err = fmt.Errorf("templateinstance %q already exists; choose another name with --name", name)
		}
		if cleanup != nil && !apierrors.IsNotFound(cleanup) {
			err = errors.Join(err, fmt.Errorf("deleting the parameters' Secret %s: %w", secret.Name, cleanup))
		}
		return nil, err
	}
	owner := metav1.OwnerReference{APIVersion: templatev1.GroupVersion.String(), Kind: "TemplateInstance", Name: created.Name, UID: created.UID}
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q}]}}`, owner.APIVersion, owner.Kind, owner.Name, owner.UID)
	if _, err := clients.core.CoreV1().Secrets(namespace).Patch(ctx, secret.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return nil, fmt.Errorf("making TemplateInstance %s the owner of its Secret %s: %w", name, secret.Name, err)
	}
	return created, nil
}

// waitPoll is how often the instance's status is read.
const waitPoll = 500 * time.Millisecond

// wait follows the instance until it is ready or failed, printing each object once it is
// created and when it starts waiting for the objects to be ready.
func (o *newAppOptions) wait(ctx context.Context, c rest.Interface, ti *templatev1.TemplateInstance) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	printed := map[types.UID]bool{}
	waiting := false
	ticker := time.NewTicker(waitPoll)
	defer ticker.Stop()
	for {
		for _, obj := range ti.Status.Objects {
			if obj.Ref.UID != "" && !printed[obj.Ref.UID] {
				printed[obj.Ref.UID] = true
				fmt.Fprintf(o.Out, "    %s %q created\n", kindName(obj.Ref), obj.Ref.Name)
			}
		}
		if failure := condition(ti, templatev1.TemplateInstanceInstantiateFailure); failure != nil && failure.Status == corev1.ConditionTrue {
			return fmt.Errorf("instantiating template %q failed: %s\n(the TemplateInstance is kept to show why: kubectl delete templateinstance %s)",
				ti.Spec.Template.Name, failure.Message, ti.Name)
		}
		if ready := condition(ti, templatev1.TemplateInstanceReady); ready != nil {
			switch {
			case ready.Status == corev1.ConditionTrue:
				fmt.Fprintln(o.Out, "--> Success")
				return nil
			// OpenShift's reason while the objects the template waits for are not ready.
			case ready.Reason == "Waiting" && !waiting:
				waiting = true
				fmt.Fprintln(o.Out, "--> Waiting for the objects to be ready ...")
			}
		}
		select {
		case <-ctx.Done():
			why := "stopped waiting for"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = fmt.Sprintf("timed out after %s waiting for", o.timeout)
			}
			return fmt.Errorf("%s templateinstance %q to be ready; it goes on in the cluster (kubectl describe templateinstance %s)", why, ti.Name, ti.Name)
		case <-ticker.C:
		}
		next := &templatev1.TemplateInstance{}
		if err := c.Get().Namespace(ti.Namespace).Resource("templateinstances").Name(ti.Name).Do(ctx).Into(next); err != nil {
			if ctx.Err() != nil {
				continue // the select above reports the timeout
			}
			return fmt.Errorf("reading TemplateInstance %s: %w", ti.Name, err)
		}
		ti = next
	}
}

func condition(ti *templatev1.TemplateInstance, typ templatev1.TemplateInstanceConditionType) *templatev1.TemplateInstanceCondition {
	for i := range ti.Status.Conditions {
		if ti.Status.Conditions[i].Type == typ {
			return &ti.Status.Conditions[i]
		}
	}
	return nil
}

// kindName is how oc new-app names a created object's kind: lower case, with its group
// unless it is a core kind (secret, deployment.apps).
func kindName(ref corev1.ObjectReference) string {
	kind := strings.ToLower(ref.Kind)
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err == nil && gv.Group != "" {
		return kind + "." + gv.Group
	}
	return kind
}
