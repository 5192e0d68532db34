package server

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
)

// Name is the server's name in its logs, metrics and OpenAPI.
const Name = "kubia-apiserver"

// New builds the server from a configuration, with every group installed.
func New(cfg *genericapiserver.RecommendedConfig) (*genericapiserver.GenericAPIServer, error) {
	completed := cfg.Complete()
	s, err := completed.New(Name, genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating the server: %w", err)
	}
	for _, g := range groups {
		storage, err := g.storage(Scheme, completed.RESTOptionsGetter, completed.Authorization.Authorizer)
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
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.PrepareRun().RunWithContext(ctx)
}
