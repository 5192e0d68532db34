package website

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// createFlags are create's flags, each a field of the Website's spec.
type createFlags struct {
	gitRepo, ref, ingressHost, secret string
	replicas                          int32
	syncInterval                      time.Duration
	dryRun, output                    string
	wait, replicasSet                 bool
	timeout                           time.Duration
}

// Values of --dry-run, as kubectl's.
var dryRunValues = []string{"none", "client", "server"}

func newCreateCommand(o *options, use string) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:          use,
		Short:        "Create a Website serving a Git repository",
		SilenceUsage: true,
		Example: `  # Serve the book's example site
  kubia website create kubia --git-repo https://github.com/luksa/kubia-website-example.git --wait

  # Print the Website without creating it
  kubectl create website kubia --git-repo https://github.com/luksa/kubia-website-example.git --dry-run=client -o yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("create takes one argument, the Website's name (got %d)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.replicasSet = cmd.Flags().Changed("replicas")
			if err := f.validate(); err != nil {
				return err
			}
			return o.create(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.gitRepo, "git-repo", "", "URL of the Git repository holding the site (required)")
	fl.StringVar(&f.ref, "ref", "", "branch, tag or commit to serve (default: the repository's HEAD)")
	fl.Int32Var(&f.replicas, "replicas", 0, "number of web server pods (default 1)")
	fl.DurationVar(&f.syncInterval, "sync-interval", 0, "how often to poll the repository (default 1m)")
	fl.StringVar(&f.ingressHost, "ingress-host", "", "also publish the site through an Ingress for this host")
	fl.StringVar(&f.secret, "secret", "", "Secret with the repository's credentials")
	fl.StringVar(&f.dryRun, "dry-run", "none", `"none", "client" (print only) or "server" (validated by the API server, not stored)`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
	fl.StringVarP(&f.output, "output", "o", "", "print the Website as yaml, json or name")
	fl.BoolVar(&f.wait, "wait", false, "wait, showing progress, until the site is served, then print its URL")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	return cmd
}

func (f *createFlags) validate() error {
	switch {
	case f.gitRepo == "":
		return usageError("--git-repo is required")
	case !slices.Contains(dryRunValues, f.dryRun):
		return usageError("--dry-run must be none, client or server, not %q", f.dryRun)
	case !slices.Contains([]string{"", "yaml", "json", "name"}, f.output):
		return usageError("--output must be yaml, json or name, not %q", f.output)
	case f.wait && f.dryRun != "none":
		return usageError("--wait cannot be used with --dry-run")
	case f.replicasSet && f.replicas < 0:
		return usageError("--replicas must not be negative")
	}
	return nil
}

// website is the Website the flags describe; unset flags are left to the API server's
// defaults.
func (f *createFlags) website(name, namespace string) *extv1.Website {
	w := &extv1.Website{
		TypeMeta:   metav1.TypeMeta{APIVersion: extv1.GroupVersion.String(), Kind: "Website"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       extv1.WebsiteSpec{GitRepo: f.gitRepo, Ref: f.ref},
	}
	if f.replicasSet {
		w.Spec.Replicas = &f.replicas
	}
	if f.syncInterval != 0 {
		w.Spec.SyncInterval = &metav1.Duration{Duration: f.syncInterval}
	}
	if f.secret != "" {
		w.Spec.SecretRef = &extv1.SecretReference{Name: f.secret}
	}
	if f.ingressHost != "" {
		w.Spec.Ingress = &extv1.WebsiteIngress{Host: f.ingressHost}
	}
	return w
}

func (o *options) create(ctx context.Context, name string, f createFlags) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	w := f.website(name, ns)
	if f.dryRun == "client" {
		return printCreated(o.Out, w, f.output, "(dry run)")
	}
	c, _, err := o.client()
	if err != nil {
		return err
	}
	opts := []client.CreateOption{client.FieldOwner("kubia")}
	if f.dryRun == "server" {
		opts = append(opts, client.DryRunAll)
	}
	if err := c.Create(ctx, w, opts...); err != nil {
		return err
	}
	suffix := ""
	if f.dryRun == "server" {
		suffix = "(server dry run)"
	}
	if !f.wait {
		return printCreated(o.Out, w, f.output, suffix)
	}
	if f.output != "" {
		if err := printCreated(o.Out, w, f.output, suffix); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.Out, "website.extensions.example.com/%s created\n", w.Name)
	}
	progress := o.ErrOut
	if f.output == "" {
		progress = o.Out
	}
	if err := o.waitServed(ctx, c, w, f.timeout, progress); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, w.Status.URL)
	return nil
}

// printCreated prints the Website as -o asks, or kubectl's "created" line.
func printCreated(out io.Writer, w *extv1.Website, format, suffix string) error {
	w.ManagedFields = nil
	var p printers.ResourcePrinter
	switch format {
	case "yaml":
		p = &printers.YAMLPrinter{}
	case "json":
		p = &printers.JSONPrinter{}
	case "name":
		p = &printers.NamePrinter{Operation: ""}
	default:
		p = &printers.NamePrinter{Operation: join("created", suffix)}
	}
	s, err := scheme()
	if err != nil {
		return err
	}
	return printers.NewTypeSetter(s).ToPrinter(p).PrintObj(w, out)
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

// waitServed polls until the controller reports the Website's current generation Ready
// with a URL, printing each change of its Ready condition.
func (o *options) waitServed(ctx context.Context, c client.Client, w *extv1.Website, timeout time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "Waiting for website %s/%s to be served...\n", w.Namespace, w.Name)
	last := ""
	err := wait.PollUntilContextTimeout(ctx, o.pollInterval, timeout, true, func(context.Context) (bool, error) {
		readCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := c.Get(readCtx, client.ObjectKeyFromObject(w), w); err != nil {
			return false, fmt.Errorf("reading website %s: %w", w.Name, err)
		}
		ready := meta.FindStatusCondition(w.Status.Conditions, "Ready")
		if ready == nil || ready.ObservedGeneration != w.Generation {
			return false, nil
		}
		if line := fmt.Sprintf("%s: %s", ready.Reason, ready.Message); line != last {
			fmt.Fprintf(out, "  %s\n", line)
			last = line
		}
		return ready.Status == metav1.ConditionTrue && w.Status.URL != "", nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return &ExitError{Code: ExitNotReady, Err: fmt.Errorf("website %s not served after %s; last state: %q", w.Name, timeout, last)}
	}
	return err
}
