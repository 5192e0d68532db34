// Package server is kubia-apiserver: a genericapiserver serving Kubia's API groups
// (internal/apiserver/<group>) from its own etcd, with authentication and authorization
// delegated to kube-apiserver, which it joins through API aggregation.
package server

import (
	"fmt"
	"strings"

	"github.com/emicklei/go-restful/v3"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	utilfeature "k8s.io/apiserver/pkg/util/feature"

	kubiaopenapi "github.com/kubia-dev/kubia/internal/apiserver/openapi"
	"github.com/kubia-dev/kubia/internal/apiserver/registration"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// EtcdPrefix is where kubia-apiserver keeps its objects in etcd: a prefix of its own, so
// an etcd shared with kube-apiserver (whose prefix is /registry) is safe.
const EtcdPrefix = "/registry/kubia.dev"

// Options are kubia-apiserver's flags: genericapiserver's recommended ones (etcd, serving,
// delegated authentication and authorization, admission, audit, …).
type Options struct {
	Recommended *genericoptions.RecommendedOptions
	// Routes are route.openshift.io's own flags.
	Routes registry.RouteConfig
}

// DefaultRouterServiceAccount is kubia-router's user as the chart installs it.
const DefaultRouterServiceAccount = "system:serviceaccount:kubia-system:kubia-router"

// NewOptions returns the defaults: objects stored as each group's storage version.
func NewOptions() *Options {
	versions := storageVersions()
	o := genericoptions.NewRecommendedOptions(EtcdPrefix, Codecs.LegacyCodec(versions...))
	o.Etcd.StorageConfig.EncodeVersioner = versions
	return &Options{Recommended: o, Routes: registry.RouteConfig{Domain: registration.DefaultRouteDomain, RouterServiceAccount: DefaultRouterServiceAccount}}
}

// AddFlags adds the flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Recommended.AddFlags(fs)
	fs.StringVar(&o.Routes.Domain, "route-domain", o.Routes.Domain,
		"the routers' wildcard domain: a Route without a host gets <name>-<namespace>.<domain>")
	fs.StringVar(&o.Routes.RouterServiceAccount, "router-service-account", o.Routes.RouterServiceAccount,
		"the router's user name, which must be able to read the Secrets Routes name as external certificates")
}

// Validate checks the flags.
func (o *Options) Validate() []error {
	errs := o.Recommended.Validate()
	if msgs := validation.IsDNS1123Subdomain(o.Routes.Domain); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--route-domain %q: %s", o.Routes.Domain, strings.Join(msgs, "; ")))
	}
	if _, _, err := serviceaccount.SplitUsername(o.Routes.RouterServiceAccount); err != nil {
		errs = append(errs, fmt.Errorf("--router-service-account: %w", err))
	}
	return errs
}

// Config turns the flags into a server configuration.
func (o *Options) Config() (*genericapiserver.RecommendedConfig, error) {
	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	namer := openapi.NewDefinitionNamer(Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(kubiaopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "Kubia", "v1"
	cfg.OpenAPIConfig.GetOperationIDAndTags = operationIDAndTags
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(kubiaopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "Kubia", "v1"
	cfg.OpenAPIV3Config.GetOperationIDAndTags = operationIDAndTags
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	cfg.FeatureGate = utilfeature.DefaultFeatureGate
	if err := o.Recommended.ApplyTo(cfg); err != nil {
		return nil, fmt.Errorf("applying options: %w", err)
	}
	return cfg, nil
}

// operationIDAndTags names a route's OpenAPI operation as its group says, or as
// genericapiserver does.
func operationIDAndTags(r *restful.Route) (string, []string, error) {
	for _, g := range groups {
		if g.operationID == nil {
			continue
		}
		if id := g.operationID(r.Path); id != "" {
			return id, []string{}, nil
		}
	}
	return openapi.GetOperationIDAndTags(r)
}
