// Package project holds Kubia's commands for OpenShift Projects (project.openshift.io/v1,
// served by kubia-apiserver): `kubia projects` and `kubia project [NAME]`, oc's verbs with
// its messages. Unlike oc, which switches to a context of its own naming, `kubia project
// NAME` sets the namespace of the kubeconfig's current context.
package project

import (
	"context"
	"fmt"
	"io"
	"sort"

	projectv1 "github.com/openshift/api/project/v1"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// NewCommands returns the project commands, for the root command.
func NewCommands(streams genericiooptions.IOStreams) []*cobra.Command {
	return []*cobra.Command{NewProjectsCommand(streams), NewProjectCommand(streams)}
}

// NewProjectsCommand is `kubia projects`: the projects the user may see, the current one
// marked.
func NewProjectsCommand(streams genericiooptions.IOStreams) *cobra.Command {
	config := genericclioptions.NewConfigFlags(true)
	short := false
	cmd := &cobra.Command{
		Use:   "projects",
		Short: "List the projects you may see, as oc projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newSession(config)
			if err != nil {
				return err
			}
			return s.printProjects(cmd.Context(), streams.Out, short)
		},
	}
	config.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&short, "short", "q", false, "Only print the projects' names")
	return cmd
}

// NewProjectCommand is `kubia project [NAME]`: the current project, or switch to NAME.
func NewProjectCommand(streams genericiooptions.IOStreams) *cobra.Command {
	config := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:   "project [NAME]",
		Short: "Show the current project, or switch to another, as oc project",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := newSession(config)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return s.printCurrent(cmd.Context(), streams.Out)
			}
			return s.switchTo(cmd.Context(), streams.Out, args[0])
		},
	}
	config.AddFlags(cmd.Flags())
	return cmd
}

// session is a kubeconfig's current context and a client of projects through it.
type session struct {
	loader  clientcmd.ClientConfig
	host    string
	current string // the current context's namespace
	client  rest.Interface
}

func newSession(config *genericclioptions.ConfigFlags) (*session, error) {
	loader := config.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	client, err := projectClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &session{loader: loader, host: cfg.Host, client: client}
	if ctx := raw.Contexts[raw.CurrentContext]; ctx != nil {
		s.current = ctx.Namespace
	}
	return s, nil
}

func projectClient(cfg *rest.Config) (rest.Interface, error) {
	scheme := runtime.NewScheme()
	if err := projectv1.Install(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, projectv1.GroupVersion)
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath, cfg.GroupVersion = "/apis", &projectv1.GroupVersion
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	return rest.RESTClientFor(cfg)
}

func (s *session) projects(ctx context.Context) ([]projectv1.Project, error) {
	list := &projectv1.ProjectList{}
	if err := s.client.Get().Resource("projects").Do(ctx).Into(list); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

func (s *session) get(ctx context.Context, name string) error {
	return s.client.Get().Resource("projects").Name(name).Do(ctx).Error()
}

// printProjects writes oc projects' text: none, one, or a list with the current project
// starred, then which project is in use.
func (s *session) printProjects(ctx context.Context, out io.Writer, short bool) error {
	projects, err := s.projects(ctx)
	if err != nil {
		return err
	}
	if short {
		for _, p := range projects {
			fmt.Fprintln(out, p.Name)
		}
		return nil
	}
	currentExists := s.current != "" && s.get(ctx, s.current) == nil
	switch len(projects) {
	case 0:
		fmt.Fprintln(out, "You are not a member of any projects. You can request a project to be created with the 'new-project' command.")
		return nil
	case 1:
		fmt.Fprintf(out, "You have one project on this server: %q.\n", displayName(&projects[0]))
	default:
		fmt.Fprintln(out, "You have access to the following projects and can switch between them with 'kubia project <projectname>':")
		for _, p := range projects {
			mark := ""
			if currentExists {
				mark = "    "
				if p.Name == s.current {
					mark = "  * "
				}
			}
			if d := projectDisplayName(&p); d != "" && d != p.Name {
				fmt.Fprintf(out, "\n%s%s - %s", mark, p.Name, d)
			} else {
				fmt.Fprintf(out, "\n%s%s", mark, p.Name)
			}
		}
		fmt.Fprintln(out)
	}
	if !currentExists {
		// oc then says nothing more and succeeds (its error variable is shadowed): as oc.
		return nil
	}
	fmt.Fprintf(out, "\nUsing project %q on server %q.\n", s.current, s.host)
	return nil
}

func (s *session) printCurrent(ctx context.Context, out io.Writer) error {
	if s.current == "" {
		return fmt.Errorf("no project has been set: use 'kubia project <projectname>'")
	}
	if err := s.get(ctx, s.current); apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("you do not have rights to view project %q specified in your config or the project doesn't exist", s.current)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(out, "Using project %q on server %q.\n", s.current, s.host)
	return nil
}

// switchTo makes name the current context's namespace, once the user may see it.
func (s *session) switchTo(ctx context.Context, out io.Writer, name string) error {
	if err := s.get(ctx, name); apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return fmt.Errorf("You are not a member of project %q.", name) // oc's message, capitalised
	} else if err != nil {
		return err
	}
	access := s.loader.ConfigAccess()
	raw, err := access.GetStartingConfig()
	if err != nil {
		return err
	}
	current := raw.Contexts[raw.CurrentContext]
	if current == nil {
		return fmt.Errorf("the kubeconfig has no current context to set the project of")
	}
	current.Namespace = name
	if err := clientcmd.ModifyConfig(access, *raw, true); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	fmt.Fprintf(out, "Now using project %q on server %q.\n", name, s.host)
	return nil
}

// projectDisplayName is the openshift.io/display-name annotation, else the older
// displayName one, as oc reads them.
func projectDisplayName(p *projectv1.Project) string {
	if d := p.Annotations["openshift.io/display-name"]; d != "" {
		return d
	}
	return p.Annotations["displayName"]
}

// displayName is oc's "Display (name)", or the name alone.
func displayName(p *projectv1.Project) string {
	if d := projectDisplayName(p); d != "" && d != p.Name {
		return fmt.Sprintf("%s (%s)", d, p.Name)
	}
	return p.Name
}
