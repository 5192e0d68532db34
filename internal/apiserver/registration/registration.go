// Package registration is how kubia-apiserver's group versions are registered with
// kube-aggregator: the APIServices' spec, taking over those a CRD registered, and waiting
// until the aggregator reaches the server. The chart, kubia up and the tests share it.
package registration

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
)

// WebsiteGroup is the API group kubia-apiserver serves Websites in, which the Website CRD
// serves in CRD mode.
const WebsiteGroup = "extensions.example.com"

// APIService is one group version kubia-apiserver serves, as kube-aggregator knows it.
type APIService struct {
	Group, Version string
	// GroupPriorityMinimum and VersionPriority order the group among others and the
	// version within it, in discovery.
	GroupPriorityMinimum, VersionPriority int32
}

// Name is the APIService's name, <version>.<group>.
func (a APIService) Name() string { return a.Version + "." + a.Group }

// APIServices are the group versions kubia-apiserver serves, as the chart's APIServices
// have them: Websites' v1 preferred to v1alpha1, and OpenShift's groups with the
// priorities of OpenShift's own APIServices.
var APIServices = []APIService{
	{Group: WebsiteGroup, Version: "v1", GroupPriorityMinimum: 1000, VersionPriority: 20},
	{Group: WebsiteGroup, Version: "v1alpha1", GroupPriorityMinimum: 1000, VersionPriority: 15},
	{Group: "template.openshift.io", Version: "v1", GroupPriorityMinimum: 9900, VersionPriority: 15},
	{Group: "route.openshift.io", Version: "v1", GroupPriorityMinimum: 9900, VersionPriority: 15},
	{Group: "user.openshift.io", Version: "v1", GroupPriorityMinimum: 9900, VersionPriority: 15},
	{Group: "project.openshift.io", Version: "v1", GroupPriorityMinimum: 9900, VersionPriority: 15},
}

// Names are the APIServices' names.
func Names() []string {
	names := make([]string, len(APIServices))
	for i, a := range APIServices {
		names[i] = a.Name()
	}
	return names
}

// AutomanagedLabel marks the APIServices kube-aggregator keeps in step with CRDs; one
// without it is left alone, even while a CRD serves the same group version.
const AutomanagedLabel = "kube-aggregator.kubernetes.io/automanaged"

// Spec is a's APIService spec, for kubia-apiserver behind the Service namespace/name on
// port, whose serving certificate ca signs.
func Spec(a APIService, namespace, name string, port int32, ca []byte) apiregistrationv1.APIServiceSpec {
	return apiregistrationv1.APIServiceSpec{
		Group: a.Group, Version: a.Version, GroupPriorityMinimum: a.GroupPriorityMinimum, VersionPriority: a.VersionPriority,
		Service:  &apiregistrationv1.ServiceReference{Namespace: namespace, Name: name, Port: ptr.To(port)},
		CABundle: ca,
	}
}

// IsCRDs tells whether svc is the registration a CRD made (kube-aggregator manages it).
func IsCRDs(svc *apiregistrationv1.APIService) bool {
	_, ok := svc.Labels[AutomanagedLabel]
	return ok
}

// WaitAvailable waits until the aggregator reports each APIService Available through its
// Service: a CRD's registration ("Local") is Available at once, and does not count.
func WaitAvailable(ctx context.Context, agg aggregator.Interface, timeout time.Duration, names ...string) error {
	for _, name := range names {
		last := "not created"
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			svc, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil //nolint:nilerr // the aggregator may still be starting
			}
			for _, cond := range svc.Status.Conditions {
				if cond.Type == apiregistrationv1.Available {
					last = cond.Reason + ": " + cond.Message
					return cond.Status == apiregistrationv1.ConditionTrue && cond.Reason != "Local", nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("APIService %s not available (%s): %w", name, last, err)
		}
	}
	return nil
}
