// Package server is kubia-apiserver: a genericapiserver serving Kubia's API groups
// (internal/apiserver/<group>) from its own etcd, with authentication and authorization
// delegated to kube-apiserver, which it joins through API aggregation.
package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/emicklei/go-restful/v3"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
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
	uservalidation "github.com/kubia-dev/kubia/internal/apiserver/user/validation"
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
	// Login are login.kubia.dev's: the htpasswd Secret (namespace/name), the provider's
	// name and how long tokens last.
	HTPasswdSecret string
	Login          registry.LoginConfig
}

// DefaultRouterServiceAccount is kubia-router's user as the chart installs it.
const DefaultRouterServiceAccount = "system:serviceaccount:kubia-system:kubia-router"

// NewOptions returns the defaults: objects stored as each group's storage version.
func NewOptions() *Options {
	versions := storageVersions()
	o := genericoptions.NewRecommendedOptions(EtcdPrefix, Codecs.LegacyCodec(versions...))
	o.Etcd.StorageConfig.EncodeVersioner = versions
	return &Options{
		Recommended:    o,
		Routes:         registry.RouteConfig{Domain: registration.DefaultRouteDomain, RouterServiceAccount: DefaultRouterServiceAccount},
		HTPasswdSecret: DefaultHTPasswdSecret,
		Login:          registry.LoginConfig{ProviderName: DefaultIdentityProvider, TokenMaxAge: DefaultTokenMaxAge},
	}
}

// The login defaults: the chart's Secret, OpenShift's default token lifetime (a day).
const (
	DefaultHTPasswdSecret   = "kubia-system/kubia-htpasswd"
	DefaultIdentityProvider = "htpasswd"
	DefaultTokenMaxAge      = 24 * time.Hour
)

// AddFlags adds the flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Recommended.AddFlags(fs)
	fs.StringVar(&o.Routes.Domain, "route-domain", o.Routes.Domain,
		"the routers' wildcard domain: a Route without a host gets <name>-<namespace>.<domain>")
	fs.StringVar(&o.Routes.RouterServiceAccount, "router-service-account", o.Routes.RouterServiceAccount,
		"the router's user name, which must be able to read the Secrets Routes name as external certificates")
	fs.StringVar(&o.HTPasswdSecret, "htpasswd-secret", o.HTPasswdSecret,
		"namespace/name of the Secret whose key htpasswd holds the users' bcrypt password hashes")
	fs.StringVar(&o.Login.ProviderName, "identity-provider-name", o.Login.ProviderName,
		"the htpasswd identity provider's name: a user's Identity is <name>:<user>")
	fs.DurationVar(&o.Login.TokenMaxAge, "access-token-max-age", o.Login.TokenMaxAge,
		"how long a token from a login authenticates")
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
	ns, name, ok := strings.Cut(o.HTPasswdSecret, "/")
	if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		errs = append(errs, fmt.Errorf("--htpasswd-secret %q: want namespace/name", o.HTPasswdSecret))
	}
	o.Login.HTPasswdSecret = types.NamespacedName{Namespace: ns, Name: name}
	if msgs := uservalidation.IdentityProviderName(o.Login.ProviderName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--identity-provider-name %q: %s", o.Login.ProviderName, strings.Join(msgs, "; ")))
	}
	if o.Login.TokenMaxAge < time.Second {
		errs = append(errs, fmt.Errorf("--access-token-max-age %s: at least a second", o.Login.TokenMaxAge))
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
