// Package project is the registry of Projects in kubia-apiserver: a view of the
// cluster's Namespaces, as openshift-apiserver's project proxy is. Listing and watching
// show only the namespaces RBAC lets the caller get (internal/apiserver/project/auth);
// getting and deleting one needs the right to get or delete its namespace.
package project

import (
	"context"
	"errors"
	"fmt"

	projectv1 "github.com/openshift/api/project/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubia-dev/kubia/internal/apiserver/project/auth"
	"github.com/kubia-dev/kubia/internal/apiserver/registry"
)

// REST serves projects.
type REST struct {
	kube       kubernetes.Interface
	namespaces corelisters.NamespaceLister
	visibility auth.Visibility
	authz      authorizer.Authorizer
	// synced tells whether the informers have listed everything once: before, a list
	// would miss projects.
	synced []func() bool
}

var (
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.GracefulDeleter      = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewStorage returns the storage of projects, reading namespaces and RBAC from c's
// informers.
func NewStorage(c registry.Config) (*REST, error) {
	if c.Kube == nil || c.Informers == nil {
		return nil, errors.New("projects storage needs a client of kube-apiserver and its informers")
	}
	rbac := c.Informers.Rbac().V1()
	nss := c.Informers.Core().V1().Namespaces()
	r := &REST{
		kube:       c.Kube,
		namespaces: nss.Lister(),
		visibility: auth.Visibility{Roles: rbac.Roles().Lister(), RoleBindings: rbac.RoleBindings().Lister(),
			ClusterRoles: rbac.ClusterRoles().Lister(), ClusterRoleBindings: rbac.ClusterRoleBindings().Lister()},
		authz: c.Authorizer,
	}
	for _, inf := range []cache.SharedIndexInformer{nss.Informer(), rbac.Roles().Informer(), rbac.RoleBindings().Informer(),
		rbac.ClusterRoles().Informer(), rbac.ClusterRoleBindings().Informer()} {
		r.synced = append(r.synced, inf.HasSynced)
	}
	return r, nil
}

// ready refuses to answer from informers that have not listed everything yet.
func (r *REST) ready() error {
	for _, synced := range r.synced {
		if !synced() {
			return apierrors.NewServiceUnavailable("the projects cache is not filled yet")
		}
	}
	return nil
}

func (*REST) New() runtime.Object     { return &projectv1.Project{} }
func (*REST) NewList() runtime.Object { return &projectv1.ProjectList{} }
func (*REST) Destroy()                {}
func (*REST) NamespaceScoped() bool   { return false }
func (*REST) GetSingularName() string { return "project" }
func (*REST) ConvertToTable(ctx context.Context, obj, tableOptions runtime.Object) (*metav1.Table, error) {
	return tableConvertor{}.ConvertToTable(ctx, obj, tableOptions)
}

// Get returns the project of namespace name, if the caller may get that namespace.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if err := r.authorize(ctx, "get", name); err != nil {
		return nil, err
	}
	ns, err := r.kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(projectv1.Resource("projects"), name)
	} else if err != nil {
		return nil, err
	}
	return ConvertNamespace(ns), nil
}

// List returns the projects of the namespaces the caller may get.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.ready(); err != nil {
		return nil, err
	}
	all, named, err := r.visibility.Namespaces(u)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	sel, fsel := selectors(options)
	nss, err := r.namespaces.List(sel)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	list := &projectv1.ProjectList{}
	for _, ns := range nss {
		if (all || named.Has(ns.Name)) && fsel.Matches(fields.Set{"metadata.name": ns.Name, "status.phase": string(ns.Status.Phase)}) {
			list.Items = append(list.Items, *ConvertNamespace(ns))
		}
	}
	sortByName(list.Items)
	return list, nil
}

// Watch streams the changes of the namespaces the caller may get, deciding at each event.
func (r *REST) Watch(ctx context.Context, options *metainternalversion.ListOptions) (watch.Interface, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	opts := metav1.ListOptions{ResourceVersion: options.ResourceVersion, AllowWatchBookmarks: options.AllowWatchBookmarks}
	if options.LabelSelector != nil {
		opts.LabelSelector = options.LabelSelector.String()
	}
	if options.FieldSelector != nil {
		opts.FieldSelector = options.FieldSelector.String()
	}
	w, err := r.kube.CoreV1().Namespaces().Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		ns, ok := e.Object.(*corev1.Namespace)
		if !ok {
			return e, e.Type == watch.Error || e.Type == watch.Bookmark
		}
		if visible, err := r.visibility.Visible(u, ns.Name); err != nil || !visible {
			return e, false
		}
		e.Object = ConvertNamespace(ns)
		return e, true
	}), nil
}

// Delete deletes the namespace of project name, if the caller may delete that namespace.
func (r *REST) Delete(ctx context.Context, name string, _ rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if err := r.authorize(ctx, "delete", name); err != nil {
		return nil, false, err
	}
	opts := metav1.DeleteOptions{}
	if options != nil {
		opts = *options
	}
	if err := r.kube.CoreV1().Namespaces().Delete(ctx, name, opts); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, apierrors.NewNotFound(projectv1.Resource("projects"), name)
		}
		return nil, false, err
	}
	return &metav1.Status{Status: metav1.StatusSuccess}, false, nil
}

// authorize asks the server's authorizer whether the caller may verb project name's
// namespace. (Not projects in it, as OpenShift asks: kube-apiserver must let every user's
// project requests through, authorizing them as cluster-scoped, and the rule that does
// would answer yes here too.)
func (r *REST) authorize(ctx context.Context, verb, name string) error {
	u, err := caller(ctx)
	if err != nil {
		return err
	}
	attrs := authorizer.AttributesRecord{User: u, Verb: verb, Namespace: name, Name: name, Resource: "namespaces",
		APIVersion: "v1", ResourceRequest: true}
	decision, reason, err := r.authz.Authorize(ctx, attrs)
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil {
		reason = err.Error()
	}
	return apierrors.NewForbidden(projectv1.Resource("projects"), name,
		fmt.Errorf("User %q cannot %s resource %q in API group %q in the namespace %q%s", u.GetName(), verb, "projects", projectv1.GroupName, name, suffix(reason)))
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func caller(ctx context.Context) (user.Info, error) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user on the request")
	}
	return u, nil
}

func selectors(options *metainternalversion.ListOptions) (labels.Selector, fields.Selector) {
	sel, fsel := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		sel = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		fsel = options.FieldSelector
	}
	return sel, fsel
}
