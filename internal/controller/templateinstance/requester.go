package templateinstance

import (
	"context"
	"errors"
	"fmt"

	templatev1 "github.com/openshift/api/template/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// errNoRequester is OpenShift's error for an instance without a requester (kubia-apiserver
// requires one, so only an instance stored some other way can lack it).
var errNoRequester = errors.New("spec.requester.username not set")

// requester acts as an instance's requester: every request it makes impersonates them,
// so the API server authorizes and audits it as theirs.
type requester struct {
	dynamic.Interface
	name string
}

// asRequester returns a client that impersonates the instance's requester.
func (r *Reconciler) asRequester(ti *templatev1.TemplateInstance) (*requester, error) {
	req := ti.Spec.Requester
	if req == nil || req.Username == "" {
		return nil, errNoRequester
	}
	cfg := rest.CopyConfig(r.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: req.Username, UID: req.UID, Groups: req.Groups}
	if len(req.Extra) > 0 {
		cfg.Impersonate.Extra = make(map[string][]string, len(req.Extra))
		for k, v := range req.Extra {
			cfg.Impersonate.Extra[k] = v
		}
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building a client for the requester %q: %w", req.Username, err)
	}
	return &requester{Interface: c, name: req.Username}, nil
}

var selfSubjectAccessReviews = schema.GroupVersionResource{Group: authorizationv1.GroupName, Version: "v1", Resource: "selfsubjectaccessreviews"}

// allowed asks the API server whether the requester may do what attrs say, as they
// would ask themselves (`kubectl auth can-i`).
func (q *requester) allowed(ctx context.Context, attrs authorizationv1.ResourceAttributes) (bool, string, error) {
	review := &authorizationv1.SelfSubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: authorizationv1.SchemeGroupVersion.String(), Kind: "SelfSubjectAccessReview"},
		Spec:     authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
	}
	u, err := toUnstructured(review)
	if err != nil {
		return false, "", err
	}
	out, err := q.Resource(selfSubjectAccessReviews).Create(ctx, u, createOptions())
	if err != nil {
		return false, "", fmt.Errorf("asking whether %q may %s %s: %w", q.name, attrs.Verb, attrs.Resource, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(out.Object, review); err != nil {
		return false, "", err
	}
	return review.Status.Allowed, review.Status.Reason, nil
}
