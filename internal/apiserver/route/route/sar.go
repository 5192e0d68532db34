package route

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// openShiftRouterServiceAccount is the user library-go's validation asks about when a
// Route names an external certificate: OpenShift's router runs as it.
const openShiftRouterServiceAccount = "system:serviceaccount:openshift-ingress:router"

// authorizerSAR answers library-go's SubjectAccessReviews with the server's authorizer,
// which kube-apiserver's delegated authorization backs (and caches) already: no client of
// its own, and the same answers as every other request of kubia-apiserver gets. Questions
// about OpenShift's router are asked about Kubia's.
type authorizerSAR struct {
	authz                authorizer.Authorizer
	routerServiceAccount string
}

func (a authorizerSAR) Create(ctx context.Context, sar *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	spec := sar.Spec
	name := spec.User
	if name == openShiftRouterServiceAccount {
		name = a.routerServiceAccount
	}
	u := &user.DefaultInfo{Name: name, UID: spec.UID, Groups: spec.Groups, Extra: map[string][]string{}}
	for k, v := range spec.Extra {
		u.Extra[k] = v
	}
	attrs := authorizer.AttributesRecord{User: u}
	if ra := spec.ResourceAttributes; ra != nil {
		attrs.Verb, attrs.Namespace, attrs.Name = ra.Verb, ra.Namespace, ra.Name
		attrs.APIGroup, attrs.APIVersion, attrs.Resource, attrs.Subresource = ra.Group, ra.Version, ra.Resource, ra.Subresource
		attrs.ResourceRequest = true
	}
	decision, reason, err := a.authz.Authorize(ctx, attrs)
	if err != nil {
		return nil, err
	}
	out := sar.DeepCopy()
	out.Status = authorizationv1.SubjectAccessReviewStatus{
		Allowed: decision == authorizer.DecisionAllow, Denied: decision == authorizer.DecisionDeny, Reason: reason,
	}
	return out, nil
}
