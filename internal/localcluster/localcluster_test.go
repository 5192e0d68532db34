package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestClusterLifecycle runs real control planes on one data dir: state survives a
// restart, a second cluster on the same dir is refused, Stop leaves no process or port
// behind, and Fresh wipes the earlier state.
func TestClusterLifecycle(t *testing.T) {
	dataDir := t.TempDir()
	ctx := t.Context()

	c := mustStart(t, Config{DataDir: dataDir})
	marker := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart", Namespace: "default"}}
	if _, err := clientset(t, c).CoreV1().ConfigMaps("default").Create(ctx, marker, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("a second cluster on the same data dir is refused at once", func(t *testing.T) {
		began := time.Now()
		_, err := Start(ctx, Config{DataDir: dataDir})
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("second Start error = %v, want one saying the data dir is in use", err)
		}
		if took := time.Since(began); took > 5*time.Second {
			t.Fatalf("second Start took %s to fail; it must fail fast", took)
		}
	})

	t.Run("stop leaves no process or port behind", func(t *testing.T) {
		mustStopCleanly(t, c)
	})

	c = mustStart(t, Config{DataDir: dataDir})
	t.Run("state survives a restart", func(t *testing.T) {
		if _, err := clientset(t, c).CoreV1().ConfigMaps("default").Get(ctx, marker.Name, metav1.GetOptions{}); err != nil {
			t.Fatalf("ConfigMap created before the restart: %v", err)
		}
	})
	mustStopCleanly(t, c)

	c = mustStart(t, Config{DataDir: dataDir, Fresh: true})
	t.Run("fresh wipes earlier state", func(t *testing.T) {
		_, err := clientset(t, c).CoreV1().ConfigMaps("default").Get(ctx, marker.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("ConfigMap after a fresh start: err = %v, want NotFound", err)
		}
	})
	mustStopCleanly(t, c)
}

func TestUnexpectedExitIsReported(t *testing.T) {
	c := mustStart(t, Config{DataDir: t.TempDir()})
	defer c.Stop()
	scheduler := c.Components()[len(c.Components())-1]
	if err := syscall.Kill(scheduler.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.Failed():
		if !strings.Contains(err.Error(), scheduler.Name) {
			t.Fatalf("failure %q does not name %s", err, scheduler.Name)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("killing %s was not reported", scheduler.Name)
	}
}

// TestRestartControllerManager restarts kube-controller-manager: a new process that
// works (it creates a new namespace's default ServiceAccount), and no failure reported for
// the old one's exit.
func TestRestartControllerManager(t *testing.T) {
	c := mustStart(t, Config{DataDir: t.TempDir()})
	before := controllerManagerPID(t, c)
	if err := c.RestartControllerManager(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := controllerManagerPID(t, c); after == before {
		t.Fatalf("kube-controller-manager still runs as %d", before)
	}
	cs := clientset(t, c)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(t.Context(), "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no default ServiceAccount from the restarted kube-controller-manager: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-c.Failed():
		t.Fatalf("the restart was reported as a failure: %v", err)
	default:
	}
}

func controllerManagerPID(t *testing.T, c *Cluster) int {
	t.Helper()
	for _, comp := range c.Components() {
		if comp.Name == KubeControllerManager {
			return comp.PID
		}
	}
	t.Fatal("no kube-controller-manager among the components")
	return 0
}

func mustStart(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func mustStopCleanly(t *testing.T, c *Cluster) {
	t.Helper()
	components := c.Components()
	host := c.RESTConfig().Host
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v\n%s", err, c.LogTails(20))
	}
	for _, comp := range components {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", comp.PID)); err == nil {
			t.Errorf("%s (pid %d) still exists after Stop", comp.Name, comp.PID)
		}
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(host, "https://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", host)
	}
}

func clientset(t *testing.T, c *Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestEndpointSliceServes(t *testing.T) {
	port := func(p int32) *int32 { return &p }
	slice := func(ports []*int32, addresses ...string) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{{Addresses: addresses}}}
		for _, p := range ports {
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Port: p})
		}
		return s
	}
	tests := []struct {
		name  string
		slice *discoveryv1.EndpointSlice
		want  bool
	}{
		{"this run's address and port", slice([]*int32{port(6443)}, "198.18.0.1"), true},
		{"a killed run's port", slice([]*int32{port(40053)}, "198.18.0.1"), false},
		{"another address", slice([]*int32{port(6443)}, "198.18.0.2"), false},
		{"no endpoints", &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: port(6443)}}}, false},
		{"a port without number", slice([]*int32{nil}, "198.18.0.1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endpointSliceServes(tt.slice, "198.18.0.1", 6443); got != tt.want {
				t.Errorf("endpointSliceServes = %t, want %t", got, tt.want)
			}
		})
	}
}
