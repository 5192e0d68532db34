package templateinstance

import (
	"context"
	"errors"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubia-dev/kubia/internal/templateprocessing"
)

// planned is one object of the processed template, ready to be created.
type planned struct {
	obj       *unstructured.Unstructured
	mapping   *meta.RESTMapping
	namespace string
}

// instantiate processes the instance's template and creates its objects as the
// requester, in OpenShift's order: the Secret's parameters, the right to process, the
// processing, the right to create every object, then the objects. Nothing is created
// unless the requester may create all of them; each is first created in a dry run, which
// also catches what the API server would reject. The status lists the objects before they
// are created (recordIntent), so that a crash in between leaves nothing the finalizer
// does not know of.
func (r *Reconciler) instantiate(ctx context.Context, ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus) error {
	q, err := r.asRequester(ti)
	if err != nil {
		return err
	}
	tpl, err := r.parameterised(ctx, ti, q)
	if err != nil {
		return err
	}
	if err := q.mayProcess(ctx, ti.Namespace, tpl.Name); err != nil {
		return err
	}
	random, err := r.Key.Rand(ctx, ti.UID)
	if err != nil {
		return err
	}
	if errs := templateprocessing.Process(tpl, random); len(errs) > 0 {
		return fmt.Errorf("unable to process Template objects: %w",
			apierrors.NewInvalid(schema.GroupKind{Group: templatev1.GroupName, Kind: "Template"}, tpl.Name, errs))
	}
	objs, err := r.plan(ti, tpl)
	if err != nil {
		return err
	}
	if err := q.preflight(ctx, ti, objs); err != nil {
		return err
	}
	if err := r.recordIntent(ctx, ti, status, objs); err != nil {
		return err
	}
	return q.create(ctx, ti, objs, status)
}

// parameterised is a copy of the instance's template with the values of its Secret, read
// as the requester: a value there sets the parameter and turns its generation off.
func (r *Reconciler) parameterised(ctx context.Context, ti *templatev1.TemplateInstance, q *requester) (*templatev1.Template, error) {
	tpl := ti.Spec.Template.DeepCopy()
	if tpl.Namespace == "" {
		tpl.Namespace = ti.Namespace
	}
	if ti.Spec.Secret == nil {
		return tpl, nil
	}
	u, err := q.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(ti.Namespace).Get(ctx, ti.Spec.Secret.Name, metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("unable to authorize user to retrive TemplateInstance Secret: %w", err) // [sic], OpenShift's
	}
	if err != nil {
		return nil, fmt.Errorf("unable to retrieve TemplateInstance Secret: %w", err)
	}
	secret := &corev1.Secret{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, secret); err != nil {
		return nil, fmt.Errorf("unable to retrieve TemplateInstance Secret: %w", err)
	}
	for i, p := range tpl.Parameters {
		if value, ok := secret.Data[p.Name]; ok {
			tpl.Parameters[i].Value, tpl.Parameters[i].Generate = string(value), ""
		}
	}
	return tpl, nil
}

// mayProcess checks the requester may process templates, which OpenShift checks as the
// right to create templateconfigs (Kubia's roles grant processedtemplates, the resource
// `oc process` posts to).
func (q *requester) mayProcess(ctx context.Context, namespace, name string) error {
	ok, reason, err := q.allowed(ctx, authorizationv1.ResourceAttributes{Namespace: namespace, Verb: "create",
		Group: templatev1.GroupName, Resource: "processedtemplates", Name: name})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("unable to authorize user to create processedtemplates: %w",
			apierrors.NewForbidden(templatev1.Resource("processedtemplates"), name, errors.New(reason)))
	}
	return nil
}

// plan maps each processed object to its resource and namespace and labels it with the
// instance. OpenShift's legacy authorization.openshift.io roles and bindings, which old
// templates hold as v1 kinds, become their rbac.authorization.k8s.io equivalents.
func (r *Reconciler) plan(ti *templatev1.TemplateInstance, tpl *templatev1.Template) ([]planned, error) {
	var objs []planned
	var errs []error
	for _, raw := range tpl.Objects {
		obj, ok := raw.Object.(*unstructured.Unstructured)
		if !ok {
			errs = append(errs, fmt.Errorf("unable to decode a processed object (%T)", raw.Object))
			continue
		}
		target := ti.Namespace
		if ns := obj.GetNamespace(); ns != "" {
			target = ns // a namespace given by a parameter is kept
		}
		if err := templateprocessing.TranslateLegacyRBAC(obj, target); err != nil {
			errs = append(errs, fmt.Errorf("unable to translate %s, Name=%s: %w", obj.GroupVersionKind(), obj.GetName(), err))
			continue
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[OwnerLabel] = string(ti.UID)
		obj.SetLabels(labels)
		gvk := obj.GroupVersionKind()
		mapping, err := r.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("unable to identify the resource mapping for %s: %w", gvk, err))
			continue
		}
		namespace := target
		if mapping.Scope.Name() == meta.RESTScopeNameRoot {
			namespace = ""
		}
		obj.SetNamespace(namespace)
		objs = append(objs, planned{obj: obj, mapping: mapping, namespace: namespace})
	}
	return objs, errors.Join(errs...)
}

// preflight creates every object in a dry run as the requester, so that an instance
// whose requester may not create one of them (or whose object the API server rejects)
// fails before anything exists. An object this instance already made passes.
func (q *requester) preflight(ctx context.Context, ti *templatev1.TemplateInstance, objs []planned) error {
	var errs []error
	for _, p := range objs {
		res := q.Resource(p.mapping.Resource).Namespace(p.namespace)
		_, err := res.Create(ctx, p.obj, dryRunOptions())
		if apierrors.IsAlreadyExists(err) {
			_, err = q.existing(ctx, ti, p, err)
		}
		switch {
		case err == nil:
		case apierrors.IsForbidden(err):
			errs = append(errs, fmt.Errorf("unable to authorize user to create %s, Name=%s: %w", p.mapping.Resource, p.obj.GetName(), err))
		default:
			errs = append(errs, fmt.Errorf("unable to create %s, Name=%s: %w", p.mapping.Resource, p.obj.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// existing returns the object of p's name when this instance created it (its owner
// label says so); otherwise the AlreadyExists error stands, as in OpenShift.
func (q *requester) existing(ctx context.Context, ti *templatev1.TemplateInstance, p planned, exists error) (*unstructured.Unstructured, error) {
	obj, err := q.Resource(p.mapping.Resource).Namespace(p.namespace).Get(ctx, p.obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if obj.GetLabels()[OwnerLabel] != string(ti.UID) {
		return nil, exists
	}
	return obj, nil
}

// recordIntent lists the objects in the status, without UIDs, before any is created.
func (r *Reconciler) recordIntent(ctx context.Context, ti *templatev1.TemplateInstance, status *templatev1.TemplateInstanceStatus, objs []planned) error {
	intended := make([]templatev1.TemplateInstanceObject, len(objs))
	for i, p := range objs {
		intended[i].Ref = reference(p, "")
		if i < len(status.Objects) && sameObject(status.Objects[i].Ref, intended[i].Ref) {
			intended[i].Ref.UID = status.Objects[i].Ref.UID
		}
	}
	status.Objects = intended
	return r.writeStatus(ctx, ti, status)
}

// create creates the objects as the requester and records their UIDs; one this instance
// already created (before a crash) is adopted, not created twice.
func (q *requester) create(ctx context.Context, ti *templatev1.TemplateInstance, objs []planned, status *templatev1.TemplateInstanceStatus) error {
	var errs []error
	for i, p := range objs {
		if status.Objects[i].Ref.UID != "" {
			continue
		}
		obj, err := q.Resource(p.mapping.Resource).Namespace(p.namespace).Create(ctx, p.obj, createOptions())
		if apierrors.IsAlreadyExists(err) {
			obj, err = q.existing(ctx, ti, p, err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("unable to create %s, Name=%s: %w", p.mapping.Resource, p.obj.GetName(), err))
			continue
		}
		status.Objects[i].Ref = reference(p, obj.GetUID())
	}
	return errors.Join(errs...)
}

func reference(p planned, uid types.UID) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: p.mapping.GroupVersionKind.Kind, APIVersion: p.mapping.GroupVersionKind.GroupVersion().String(),
		Namespace: p.namespace, Name: p.obj.GetName(), UID: uid,
	}
}

func sameObject(a, b corev1.ObjectReference) bool {
	return a.Kind == b.Kind && a.APIVersion == b.APIVersion && a.Namespace == b.Namespace && a.Name == b.Name
}
