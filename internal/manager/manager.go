// Package manager assembles kubia-controller-manager: Kubia's controllers in one
// controller-runtime manager with leader election, metrics and health probes. The
// binary, `kubia up` (in-process) and the tests build it the same way.
package manager

import (
	"context"
	"fmt"
	"slices"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	templatev1 "github.com/openshift/api/template/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	servicecatalogv1alpha1 "github.com/kubia-dev/kubia/api/servicecatalog/v1alpha1"
	"github.com/kubia-dev/kubia/config/crd"
	"github.com/kubia-dev/kubia/internal/controller/clusterservicebroker"
	"github.com/kubia-dev/kubia/internal/controller/ingress"
	"github.com/kubia-dev/kubia/internal/controller/servicebinding"
	"github.com/kubia-dev/kubia/internal/controller/serviceinstance"
	"github.com/kubia-dev/kubia/internal/controller/servicemirror"
	"github.com/kubia-dev/kubia/internal/controller/startertemplates"
	"github.com/kubia-dev/kubia/internal/controller/templateinstance"
	"github.com/kubia-dev/kubia/internal/controller/website"
	"github.com/kubia-dev/kubia/internal/manifest"
	"github.com/kubia-dev/kubia/templates"
)

// Options configure the manager.
type Options struct {
	// Images are what Websites' pods run.
	Images website.Images
	// LeaderElection makes replicas elect one active leader, in LeaderElectionNamespace.
	LeaderElection          bool
	LeaderElectionNamespace string
	// MetricsAddr and ProbeAddr are where Prometheus metrics and /healthz, /readyz are
	// served; "0" turns them off.
	MetricsAddr, ProbeAddr string
	// PprofAddr serves Go's /debug/pprof profiles, for measuring the manager; empty (or
	// "0") turns it off.
	PprofAddr string
	// Namespaces limits the controllers to these namespaces; empty means all.
	Namespaces []string
	// SeveralPerProcess allows more than one manager in a process (tests).
	SeveralPerProcess bool
	// QPS and Burst limit the client's request rate (client-go's defaults, 5 and 10,
	// would make a thousand Websites take minutes); 0 keeps the configuration's.
	QPS   float32
	Burst int
	// Workers is how many objects each controller reconciles at once; 0 means 1.
	Workers int
	// BrokerRequestTimeout bounds each request to a Service Catalog broker; a request
	// that times out is treated as the OSB spec says (orphan mitigation). 0 means
	// osb.DefaultTimeout.
	BrokerRequestTimeout time.Duration
	// ServiceMirror, when set, copies a Service's endpoints to a selector-less Service of
	// the same name in another namespace (kubia-apiserver's for the book's APIService).
	ServiceMirror *servicemirror.Mirror
	// IngressToRoute turns Ingresses into Routes, as OpenShift does, for kube-apiservers
	// that serve route.openshift.io (through kubia-apiserver).
	IngressToRoute bool
	// TemplateInstances runs the TemplateInstance controller, for kube-apiservers that
	// serve template.openshift.io (through kubia-apiserver).
	TemplateInstances bool
	// TemplateInstanceKey names the Secret of the key that seeds the generation of
	// TemplateInstances' parameter values (made on first use); its namespace must be
	// the controller's own.
	TemplateInstanceKey types.NamespacedName
	// StarterTemplatesNamespace, when set, is where the leader applies Kubia's starter
	// templates once template.openshift.io is served ("openshift", as on OpenShift).
	StarterTemplatesNamespace string
}

// leaderElectionID names the Lease the replicas compete for.
const leaderElectionID = "kubia-controller-manager"

// Scheme knows every type the controllers read or write.
func Scheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, extensionsv1.AddToScheme, servicecatalogv1alpha1.AddToScheme, templatev1.Install, routev1.Install} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// New builds the manager with every controller registered.
func New(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if opts.QPS > 0 {
		cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	}
	cacheOpts := website.CacheOptions(opts.IngressToRoute)
	if len(opts.Namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range opts.Namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	if opts.ServiceMirror != nil {
		cacheOpts.ByObject[&discoveryv1.EndpointSlice{}] = opts.ServiceMirror.CacheOptions()
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.ProbeAddr,
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true, // a clean stop hands over at once
		Controller: config.Controller{
			SkipNameValidation:      ptr.To(opts.SeveralPerProcess),
			MaxConcurrentReconciles: max(opts.Workers, 1),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	r := &website.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("website-controller"), Images: opts.Images}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the website controller: %w", err)
	}
	brokers := &clusterservicebroker.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("clusterservicebroker-controller"), RequestTimeout: opts.BrokerRequestTimeout}
	if err := brokers.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the clusterservicebroker controller: %w", err)
	}
	instances := &serviceinstance.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("serviceinstance-controller"), RequestTimeout: opts.BrokerRequestTimeout}
	if err := instances.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the serviceinstance controller: %w", err)
	}
	bindings := &servicebinding.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("servicebinding-controller"), RequestTimeout: opts.BrokerRequestTimeout}
	if err := bindings.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the servicebinding controller: %w", err)
	}
	if opts.TemplateInstances {
		if err := setupTemplateInstances(mgr, cfg, opts.TemplateInstanceKey); err != nil {
			return nil, err
		}
	}
	if opts.IngressToRoute {
		ingresses := &ingress.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}
		if err := ingresses.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the ingress-to-route controller: %w", err)
		}
	}
	if opts.StarterTemplatesNamespace != "" {
		installer := &startertemplates.Installer{Client: mgr.GetClient(), Namespace: opts.StarterTemplatesNamespace,
			Manifests: templates.Manifests, Log: mgr.GetLogger().WithName("starter-templates")}
		if err := mgr.Add(installer); err != nil {
			return nil, fmt.Errorf("adding the starter templates' installer: %w", err)
		}
	}
	if opts.ServiceMirror != nil {
		mirror := &servicemirror.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("servicemirror-controller"), Mirror: *opts.ServiceMirror}
		if err := mirror.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the servicemirror controller: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// setupTemplateInstances registers the TemplateInstance controller, which creates
// objects through copies of cfg impersonating each instance's requester.
func setupTemplateInstances(mgr ctrl.Manager, cfg *rest.Config, key types.NamespacedName) error {
	if key.Name == "" || key.Namespace == "" {
		return fmt.Errorf("the TemplateInstance controller needs the namespace and name of its key's Secret (got %q)", key)
	}
	r := &templateinstance.Reconciler{Client: mgr.GetClient(), Config: cfg, Mapper: mgr.GetRESTMapper(),
		Recorder: mgr.GetEventRecorder("templateinstance-controller"),
		Key:      &templateinstance.Key{Secret: key, Reader: mgr.GetAPIReader(), Writer: mgr.GetClient()}}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the templateinstance controller: %w", err)
	}
	return nil
}

// fieldOwner owns the fields of the CRDs the manager installs.
const fieldOwner = "kubia-controller-manager"

// WebsiteCRDName is the Website CRD, which aggregated mode (kubia-apiserver) replaces.
const WebsiteCRDName = "websites.extensions.example.com"

// InstallCRDs applies Kubia's CRDs but those named in except, and waits until the API
// server serves them.
func InstallCRDs(ctx context.Context, cfg *rest.Config, except ...string) error {
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	manifests, err := crd.Manifests()
	if err != nil {
		return err
	}
	for _, m := range manifests {
		if name, err := crd.Name(m); err != nil {
			return err
		} else if slices.Contains(except, name) {
			continue
		}
		objs, err := manifest.Apply(ctx, c, fieldOwner, "", m)
		if err != nil {
			return fmt.Errorf("installing CRDs: %w", err)
		}
		for _, obj := range objs {
			if err := waitEstablished(ctx, c, obj.GetName()); err != nil {
				return err
			}
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, c client.Client, name string) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if lastErr = c.Get(ctx, client.ObjectKey{Name: name}, crd); lastErr != nil {
			return false, nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w (last error: %v)", name, err, lastErr)
	}
	return nil
}
