package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	oauthv1 "github.com/openshift/api/oauth/v1"
	userv1 "github.com/openshift/api/user/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"

	loginv1 "github.com/kubia-dev/kubia/api/login/v1"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/tokenreview"
)

// Name is the server's name in its logs, metrics and OpenAPI.
const Name = "kubia-apiserver"

// New builds the server from a configuration, with every group installed and the token
// webhook; routes and logins configure route.openshift.io and login.kubia.dev.
func New(cfg *genericapiserver.RecommendedConfig, routes registry.RouteConfig, logins registry.LoginConfig) (*genericapiserver.GenericAPIServer, error) {
	completed := cfg.Complete()
	s, err := completed.New(Name, genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the server: %w", err)
	}
	if cfg.ClientConfig == nil {
		return nil, errors.New("no client configuration of kube-apiserver (--kubeconfig, or in-cluster)")
	}
	kube, err := kubernetes.NewForConfig(cfg.ClientConfig)
	if err != nil {
		return nil, fmt.Errorf("client of kube-apiserver: %w", err)
	}
	self, err := selfClient(completed.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	rc := registry.Config{
		Scheme: Scheme, RESTOptions: completed.RESTOptionsGetter, Authorizer: completed.Authorization.Authorizer,
		Kube: kube, Informers: completed.SharedInformerFactory, Self: self, Route: routes, Login: logins,
	}
	for _, g := range groups {
		storage, err := g.storage(rc)
		if err != nil {
			return nil, err
		}
		info := genericapiserver.NewDefaultAPIGroupInfo(g.name, Scheme, metav1.ParameterCodec, Codecs)
		info.VersionedResourcesStorageMap = storage
		if err := s.InstallAPIGroup(&info); err != nil {
			return nil, fmt.Errorf("installing %s: %w", g.name, err)
		}
	}
	s.Handler.NonGoRestfulMux.Handle(tokenreview.Path, tokenreview.Handler{
		Tokens: &tokenreview.Authenticator{Client: self, Now: time.Now},
	})
	return s, nil
}

// selfClient reaches this server over loopback, knowing the served groups' v1 types.
func selfClient(loopback *rest.Config) (client.Client, error) {
	if loopback == nil {
		return nil, errors.New("no loopback client configuration")
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{userv1.Install, oauthv1.Install, loginv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	cfg := rest.CopyConfig(loopback)
	cfg.QPS, cfg.Burst = -1, 0 // its own server: no client-side throttling
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	return c, nil
}

// Run serves until ctx ends, then drains requests and stops.
func Run(ctx context.Context, o *Options) error {
	if errs := o.Validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	cfg, err := o.Config()
	if err != nil {
		return err
	}
	s, err := New(cfg, o.Routes, o.Login)
	if err != nil {
		return err
	}
	return s.PrepareRun().RunWithContext(ctx)
}
