package localcluster

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"text/template"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/internal/images"
	"github.com/kubia-dev/kubia/internal/manifest"
)

//go:embed coredns.yaml
var coreDNSManifest string

var coreDNSTemplate = template.Must(template.New("coredns").Parse(coreDNSManifest))

// fieldManager owns the fields of the objects the local cluster itself applies.
const fieldManager = "kubia-localcluster"

// deployClusterDNS applies CoreDNS and waits until it serves; waiter's log is quoted
// if it does not.
func deployClusterDNS(ctx context.Context, cfg *rest.Config, clientset kubernetes.Interface, waiter *process) error {
	var rendered bytes.Buffer
	if err := coreDNSTemplate.Execute(&rendered, map[string]string{"Image": images.Ref("coredns"), "ClusterDNSIP": ClusterDNSIP}); err != nil {
		return fmt.Errorf("rendering CoreDNS manifest: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	if _, err := manifest.Apply(ctx, c, fieldManager, "", rendered.Bytes()); err != nil {
		return fmt.Errorf("deploying CoreDNS: %w", err)
	}
	return waiter.waitReady(ctx, func(ctx context.Context) error {
		d, err := clientset.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return deploymentAvailable(d)
	})
}

func deploymentAvailable(d *appsv1.Deployment) error {
	if d.Status.ObservedGeneration < d.Generation || d.Status.AvailableReplicas < 1 {
		return fmt.Errorf("deployment %s/%s: %d of %d replicas available", d.Namespace, d.Name, d.Status.AvailableReplicas, d.Status.Replicas)
	}
	return nil
}
