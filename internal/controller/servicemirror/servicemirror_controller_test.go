package servicemirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/controller/servicemirror"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m, harness.WithCRDs()) }

const timeout = time.Minute

func TestParseMirror(t *testing.T) {
	tests := []struct {
		in      string
		want    servicemirror.Mirror
		wantErr bool
	}{
		{in: "kubia-system/website-api=default", want: servicemirror.Mirror{
			Source: types.NamespacedName{Namespace: "kubia-system", Name: "website-api"}, TargetNamespace: "default"}},
		{in: "kubia-system/website-api", wantErr: true},
		{in: "website-api=default", wantErr: true},
		{in: "/website-api=default", wantErr: true},
		{in: "kubia-system/=default", wantErr: true},
		{in: "kubia-system/website-api=", wantErr: true},
		{in: "default/website-api=default", wantErr: true},
	}
	for _, tt := range tests {
		got, err := servicemirror.ParseMirror(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && got != tt.want {
			t.Errorf("ParseMirror(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// service is a selector-less Service with the port kubia-apiserver's has.
func service(ns string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "website-api"},
		Spec: corev1.ServiceSpec{Selector: selector,
			Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}
}

// sourceSlice is a slice of the source Service with endpoints at ips, as
// kube-controller-manager writes them, but written by the test (managed by it, so
// kube-controller-manager leaves it be).
func sourceSlice(ns, name string, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			discoveryv1.LabelServiceName: "website-api", discoveryv1.LabelManagedBy: "test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](8443), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return s
}

// copyOf waits until the target namespace holds a copy of the source slice name with
// exactly ips, and returns it.
func copyOf(t *testing.T, c client.Client, ns, name string, ips ...string) *discoveryv1.EndpointSlice {
	t.Helper()
	got := &discoveryv1.EndpointSlice{}
	harness.Eventually(t, timeout, fmt.Sprintf("the copy of %s holds %v", name, ips), func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
			return err
		}
		var addrs []string
		for _, e := range got.Endpoints {
			addrs = append(addrs, e.Addresses...)
		}
		if fmt.Sprint(addrs) != fmt.Sprint(ips) {
			return fmt.Errorf("addresses %v", addrs)
		}
		return nil
	})
	return got
}

// The target Service gets a copy of each of the source Service's slices, following its
// changes, labelled so that kube-proxy and kube-aggregator use it and
// kube-controller-manager leaves it alone, and owned by the target Service; a source slice
// deleted deletes its copy.
func TestMirrorCopiesEndpointSlices(t *testing.T) {
	src, dst := harness.Namespace(t), harness.Namespace(t)
	c := harness.Get(t).Client
	mirror := servicemirror.Mirror{Source: types.NamespacedName{Namespace: src, Name: "website-api"}, TargetNamespace: dst}
	harness.StartControllers(t, manager.Options{Namespaces: []string{src, dst}, ServiceMirror: &mirror})
	target := service(dst, nil)
	for _, obj := range []client.Object{service(src, nil), target,
		sourceSlice(src, "website-api-a", "198.18.5.1", "198.18.5.2")} {
		if err := c.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}

	copied := copyOf(t, c, dst, "website-api-a", "198.18.5.1", "198.18.5.2")
	if copied.Labels[discoveryv1.LabelServiceName] != "website-api" || copied.Labels[discoveryv1.LabelManagedBy] != servicemirror.ManagedBy {
		t.Errorf("labels %v", copied.Labels)
	}
	if len(copied.Ports) != 1 || *copied.Ports[0].Name != "https" || *copied.Ports[0].Port != 8443 {
		t.Errorf("ports %+v", copied.Ports)
	}
	if owner := metav1.GetControllerOf(copied); owner == nil || owner.UID != target.UID {
		t.Errorf("owner %+v, want Service %s", owner, target.UID)
	}

	changed := &discoveryv1.EndpointSlice{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: src, Name: "website-api-a"}, changed); err != nil {
		t.Fatal(err)
	}
	changed.Endpoints = changed.Endpoints[1:]
	if err := c.Update(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	copyOf(t, c, dst, "website-api-a", "198.18.5.2")

	if err := c.Create(t.Context(), sourceSlice(src, "website-api-b", "198.18.5.3")); err != nil {
		t.Fatal(err)
	}
	copyOf(t, c, dst, "website-api-b", "198.18.5.3")
	if err := c.Delete(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, timeout, "the deleted source's copy is gone", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKey{Namespace: dst, Name: "website-api-a"}, &discoveryv1.EndpointSlice{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (%v)", err)
	})
	// Someone else's slice of the target (a hand-written one) is left alone.
	foreign := sourceSlice(dst, "website-api-by-hand", "198.18.5.9")
	foreign.Labels[discoveryv1.LabelManagedBy] = "someone-else"
	if err := c.Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(t.Context(), sourceSlice(src, "website-api-c", "198.18.5.4")); err != nil {
		t.Fatal(err)
	}
	copyOf(t, c, dst, "website-api-c", "198.18.5.4")
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(foreign), &discoveryv1.EndpointSlice{}); err != nil {
		t.Errorf("the hand-written slice: %v", err)
	}
}

// A target Service with a selector has its own endpoints: nothing is copied, and an event
// says why.
func TestMirrorLeavesATargetWithASelector(t *testing.T) {
	src, dst := harness.Namespace(t), harness.Namespace(t)
	c := harness.Get(t).Client
	mirror := servicemirror.Mirror{Source: types.NamespacedName{Namespace: src, Name: "website-api"}, TargetNamespace: dst}
	harness.StartControllers(t, manager.Options{Namespaces: []string{src, dst}, ServiceMirror: &mirror})
	for _, obj := range []client.Object{service(src, nil), service(dst, map[string]string{"app": "other"}),
		sourceSlice(src, "website-api-a", "198.18.5.1")} {
		if err := c.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	harness.Eventually(t, timeout, "a SelectorSet event on the target", func(ctx context.Context) error {
		var list eventsv1.EventList
		if err := c.List(ctx, &list, client.InNamespace(dst)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "SelectorSet" && e.Regarding.Name == "website-api" {
				return nil
			}
		}
		return fmt.Errorf("%d events, none SelectorSet", len(list.Items))
	})
	err := c.Get(t.Context(), client.ObjectKey{Namespace: dst, Name: "website-api-a"}, &discoveryv1.EndpointSlice{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a copy for a Service with a selector: %v", err)
	}
}
