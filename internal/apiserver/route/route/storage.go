// Package route is the registry of Routes in kubia-apiserver: stored in etcd as
// openshift-apiserver stores them, given a host and validated as it does (library-go's
// host assignment and validation), printed as `oc get routes` prints them. Routers write
// what they made of each Route in its status subresource.
package route

import (
	"errors"
	"fmt"

	routev1 "github.com/openshift/api/route/v1"
	"github.com/openshift/library-go/pkg/route/hostassignment"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"

	"github.com/kubia-dev/kubia/internal/apiserver/registry"
	"github.com/kubia-dev/kubia/internal/apiserver/status"
)

// REST serves routes.
type REST struct {
	*genericregistry.Store
}

// Categories puts routes in `kubectl get all`, as on OpenShift.
func (*REST) Categories() []string { return []string{"all"} }

// NewStorage returns the storage of routes and their status, kept in etcd through c's
// storage configuration.
func NewStorage(c registry.Config) (*REST, *status.REST, error) {
	if c.Kube == nil {
		return nil, nil, errors.New("routes storage needs a client of kube-apiserver (for external certificates' Secrets)")
	}
	hosts, err := hostassignment.NewSimpleAllocationPlugin(c.Route.Domain)
	if err != nil {
		return nil, nil, fmt.Errorf("routes storage: %w", err)
	}
	s := strategy{
		ObjectTyper:   c.Scheme,
		NameGenerator: names.SimpleNameGenerator,
		hosts:         hosts,
		sar:           authorizerSAR{authz: c.Authorizer, routerServiceAccount: c.Route.RouterServiceAccount},
		secrets:       c.Kube.CoreV1(),
	}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &routev1.Route{} },
		NewListFunc:               func() runtime.Object { return &routev1.RouteList{} },
		DefaultQualifiedResource:  routev1.Resource("routes"),
		SingularQualifiedResource: routev1.Resource("route"),

		CreateStrategy: s,
		UpdateStrategy: s,
		DeleteStrategy: s,

		TableConvertor: tableConvertor{},
	}
	opts := &generic.StoreOptions{
		RESTOptions: c.RESTOptions,
		AttrFunc:    storage.AttrFunc(storage.DefaultNamespaceScopedAttr).WithFieldMutation(fieldSet),
	}
	if err := store.CompleteWithOptions(opts); err != nil {
		return nil, nil, fmt.Errorf("routes storage: %w", err)
	}
	return &REST{store}, status.NewREST(store, statusStrategy{s}), nil
}

// selectableFields are the fields routes can be selected by besides metadata's, as on
// OpenShift (`oc get routes --field-selector spec.host=…`).
var selectableFields = []string{"spec.host", "spec.path", "spec.to.name"}

// fieldSet adds a route's selectable fields to its metadata's.
func fieldSet(obj runtime.Object, set fields.Set) error {
	r, ok := obj.(*routev1.Route)
	if !ok {
		return fmt.Errorf("not a Route: %T", obj)
	}
	set["spec.host"], set["spec.path"], set["spec.to.name"] = r.Spec.Host, r.Spec.Path, r.Spec.To.Name
	return nil
}

// AddFieldLabelConversions lets v1 clients select routes by the selectable fields.
func AddFieldLabelConversions(scheme *runtime.Scheme) error {
	return scheme.AddFieldLabelConversionFunc(routev1.GroupVersion.WithKind("Route"), func(label, value string) (string, string, error) {
		switch label {
		case "metadata.name", "metadata.namespace":
			return label, value, nil
		}
		for _, f := range selectableFields {
			if label == f {
				return label, value, nil
			}
		}
		return "", "", fmt.Errorf("field label not supported: %s", label)
	})
}
