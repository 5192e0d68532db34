package server

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// Name is the server's name in its logs, metrics and OpenAPI.
const Name = "kubia-apiserver"

// New builds the server from a configuration, with every group installed; routes is
// route.openshift.io's configuration.
func New(cfg *genericapiserver.RecommendedConfig, routes registry.RouteConfig) (*genericapiserver.GenericAPIServer, error) {
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
	rc := registry.Config{
		Scheme: Scheme, RESTOptions: completed.RESTOptionsGetter, Authorizer: completed.Authorization.Authorizer,
		Kube: kube, Informers: completed.SharedInformerFactory, Route: routes,
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
	return s, nil
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
	s, err := New(cfg, o.Routes)
	if err != nil {
		return err
	}
	return s.PrepareRun().RunWithContext(ctx)
}
