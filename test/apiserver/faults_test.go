package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubia-dev/kubia/test/harness"
)

// These tests stop kubia-apiserver or its etcd: they must not run beside the others.

// A crashed kubia-apiserver loses nothing: its objects are in its own etcd, and clients
// carry on once it is back.
func TestAPIServerKilled(t *testing.T) {
	ns := harness.Namespace(t)
	res := dynamicClient(t, harness.Get(t).Config).Resource(websitesV1).Namespace(ns)
	for i := range 20 {
		if _, err := res.Create(t.Context(), website("v1", fmt.Sprintf("site-%d", i), "https://example.org/a.git"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv := harness.AggregatedAPIServer(t)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := res.List(t.Context(), metav1.ListOptions{}); err == nil {
		t.Error("a list succeeded while kubia-apiserver was down")
	} else if !apierrors.IsServiceUnavailable(err) {
		t.Logf("while down (503 expected from the aggregator): %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, "all 20 Websites are served again", func(ctx context.Context) error {
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != 20 {
			return fmt.Errorf("%d Websites", len(list.Items))
		}
		return nil
	})
}

// While etcd is down requests fail with a server error or time out (never a wrong
// answer); once it is back every Website is there.
func TestEtcdDown(t *testing.T) {
	ns := harness.Namespace(t)
	res := dynamicClient(t, harness.Get(t).Config).Resource(websitesV1).Namespace(ns)
	if _, err := res.Create(t.Context(), website("v1", "before", "https://example.org/a.git"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := harness.AggregatedAPIServer(t)
	if err := srv.KillEtcd(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	_, err := res.Create(ctx, website("v1", "during", "https://example.org/a.git"), metav1.CreateOptions{})
	cancel()
	var status apierrors.APIStatus
	switch {
	case err == nil:
		t.Error("a create succeeded while etcd was down")
	case strings.Contains(err.Error(), "context deadline exceeded"):
	case apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err):
	case asStatus(err, &status) && status.Status().Code >= http.StatusInternalServerError:
	default:
		t.Errorf("create while etcd is down: %v, want a 5xx or a timeout", err)
	}
	if err := srv.StartEtcd(); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 2*time.Minute, "the Website written before the outage is served", func(ctx context.Context) error {
		_, err := res.Get(ctx, "before", metav1.GetOptions{})
		return err
	})
	harness.Eventually(t, time.Minute, "writes work again", func(ctx context.Context) error {
		_, err := res.Create(ctx, website("v1", "after", "https://example.org/a.git"), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

func asStatus(err error, status *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus) //nolint:errorlint // client errors are not wrapped
	*status = s
	return ok
}

// An informer's watch survives a kubia-apiserver restart: it resumes, sees what changed,
// and lists at most once more (no relist storm).
func TestInformerRecoversFromRestart(t *testing.T) {
	ns := harness.Namespace(t)
	cfg := rest.CopyConfig(harness.Get(t).Config)
	var lists atomic.Int32
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/websites") && req.URL.Query().Get("watch") == "" {
				lists.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	dyn := dynamicClient(t, cfg)
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	informer := factory.ForResource(websitesV1).Informer()
	var seen atomic.Value
	seen.Store(map[string]bool{})
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		m := map[string]bool{}
		for k, v := range seen.Load().(map[string]bool) {
			m[k] = v
		}
		m[obj.(*unstructured.Unstructured).GetName()] = true
		seen.Store(m)
	}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer never synced")
	}
	listsBefore := lists.Load()

	srv := harness.AggregatedAPIServer(t)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	admin := dynamicClient(t, harness.Get(t).Config).Resource(websitesV1).Namespace(ns)
	harness.Eventually(t, time.Minute, "a Website created after the restart", func(ctx context.Context) error {
		_, err := admin.Create(ctx, website("v1", "after-restart", "https://example.org/a.git"), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	harness.Eventually(t, time.Minute, "the informer sees the Website created after the restart", func(context.Context) error {
		if !seen.Load().(map[string]bool)["after-restart"] {
			return fmt.Errorf("not seen yet")
		}
		return nil
	})
	if extra := lists.Load() - listsBefore; extra > 1 {
		t.Errorf("the informer listed %d times after the restart, want at most 1", extra)
	} else {
		t.Logf("lists after the restart: %d", extra)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
