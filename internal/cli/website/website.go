// Package website holds `kubia website` (create, list, describe, delete, open) and the
// `kubectl create website` plugin: dedicated commands for Websites, as kubectl has
// `create deployment` for its own kinds. They work with either install mode (the CRD or
// kubia-apiserver), through extensions.example.com/v1.
package website

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	extv1 "github.com/kubia-dev/kubia/api/extensions/v1"
)

// Exit codes scripts can rely on.
const (
	// ExitFailed: the request failed (rejected by the API server, not found, no access…).
	ExitFailed = 1
	// ExitUsage: the command line was wrong.
	ExitUsage = 2
	// ExitNotReady: --wait gave up before the Website was ready, or open found no URL.
	ExitNotReady = 3
)

// ExitError carries the exit code a failure maps to.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the exit code for err (0 for nil).
func ExitCode(err error) int {
	var exit *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	default:
		return ExitFailed
	}
}

func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// options are what every command shares: kubectl's connection flags and the streams.
type options struct {
	config *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// pollInterval is how often --wait reads the Website.
	pollInterval time.Duration
}

func newOptions(streams genericiooptions.IOStreams) *options {
	return &options{config: genericclioptions.NewConfigFlags(true), IOStreams: streams, pollInterval: time.Second}
}

// NewCommand returns `kubia website` with its subcommands.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := newOptions(streams)
	cmd := &cobra.Command{
		Use:          "website",
		Aliases:      []string{"websites", "ws"},
		SilenceUsage: true,
		Short:        "Publish static sites from Git repositories",
		Long: `Works with Websites (extensions.example.com): each serves a static site from a Git
repository through a web server Deployment and a Service, kept in sync with the repository
by kubia-controller-manager.

Exit codes: 0 success, 1 the request failed, 2 wrong usage, 3 not ready in time (--wait) or
no URL yet (open).`,
	}
	o.config.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newCreateCommand(o, "create NAME --git-repo URL"), newListCommand(o), newDescribeCommand(o),
		newDeleteCommand(o), newOpenCommand(o), newMigrateCommand(o))
	return cmd
}

// NewCreatePluginCommand returns `kubectl create website`, the kubectl plugin
// (kubectl-create-website on the PATH).
func NewCreatePluginCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := newOptions(streams)
	cmd := newCreateCommand(o, "kubectl create website NAME --git-repo URL")
	o.config.AddFlags(cmd.Flags())
	return cmd
}

// scheme knows Websites and the core kinds describe reads.
func scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := extv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// client connects as kubectl would with the same flags, and returns the namespace the
// flags or the kubeconfig's context select.
func (o *options) client() (client.Client, string, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns, err := o.namespace()
	if err != nil {
		return nil, "", err
	}
	s, err := scheme()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the API server: %w", err)
	}
	return c, ns, nil
}

// namespace is the namespace the flags or the kubeconfig's context select.
func (o *options) namespace() (string, error) {
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("finding the namespace: %w", err)
	}
	return ns, nil
}
