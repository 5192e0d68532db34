package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubia-dev/kubia/charts"
	"github.com/kubia-dev/kubia/internal/apiserver/registration"
	"github.com/kubia-dev/kubia/internal/cli/website"
	"github.com/kubia-dev/kubia/internal/localcluster"
	"github.com/kubia-dev/kubia/internal/manager"
	"github.com/kubia-dev/kubia/templates"
)

// The chart's release on the node.
const (
	releaseName      = "kubia"
	releaseNamespace = "kubia-system"
)

// installChart installs (or upgrades) Kubia's Helm chart on the node:
// kubia-controller-manager and kubia-broker. It returns the lines telling where the
// broker answers.
func installChart(ctx context.Context, cluster *localcluster.Cluster, dataDir, websites string) (string, error) {
	// Helm creates CRDs on the first install only: apply them so an upgraded Kubia's
	// reach the cluster too (and, with kubia-apiserver, all but the Website CRD).
	var except []string
	if websites == websitesAggregated {
		except = append(except, manager.WebsiteCRDName)
	}
	if err := manager.InstallCRDs(ctx, cluster.RESTConfig(), except...); err != nil {
		return "", err
	}
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return "", err
	}
	chartDir, err := writeChart(filepath.Join(dataDir, "chart"))
	if err != nil {
		return "", err
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return "", err
	}
	c, err := client.New(cluster.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		return "", err
	}
	agg, err := aggregator.NewForConfig(cluster.RESTConfig())
	if err != nil {
		return "", err
	}
	if websites == websitesAggregated {
		if err := switchFromCRD(ctx, agg, c, dataDir); err != nil {
			return "", err
		}
	}
	// One replica: the local node has no other to fail over to.
	args := []string{"upgrade", "--install", releaseName, chartDir,
		"--namespace", releaseNamespace, "--create-namespace", "--kubeconfig", cluster.KubeconfigPath(),
		// The CRDs are applied above; the chart's crds/ would add the Website CRD.
		"--skip-crds", "--set", "replicas=1", "--wait", "--timeout", "3m"}
	if websites == websitesAggregated {
		// bookService: the book's website-apiservice.yaml names Service default/website-api.
		args = append(args, "--set", "apiserver.enabled=true", "--set", "apiserver.bookService=true")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "helm"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("installing Kubia's chart with helm: %w\n%s%s", err, out, podsSummary(ctx, c, releaseNamespace))
	}
	if websites == websitesAggregated {
		if err := completeTakeOver(ctx, agg, c); err != nil {
			return "", err
		}
		if err := registration.WaitAvailable(ctx, agg, 2*time.Minute, registration.Names()...); err != nil {
			return "", fmt.Errorf("kubia-apiserver is installed but not available: %w%s", err, podsSummary(ctx, c, releaseNamespace))
		}
		if err := finishSwitch(ctx, cluster, c, dataDir); err != nil {
			return "", err
		}
	}
	svc := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kubia-broker"}, svc); err != nil {
		return "", fmt.Errorf("reading kubia-broker's Service: %w", err)
	}
	hostURL := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80")
	if err := waitAnswers(ctx, hostURL+"/healthz"); err != nil {
		return "", fmt.Errorf("kubia-broker is installed but does not answer at %s: %w", hostURL, err)
	}
	served := "Websites: served by the CRD websites.extensions.example.com\n"
	if websites == websitesAggregated {
		routerURL := "http://" + net.JoinHostPort(cluster.NodeIP(), "80")
		if err := waitRouter(ctx, routerURL); err != nil {
			return "", fmt.Errorf("kubia-router is installed but does not answer at %s: %w%s", routerURL, err, podsSummary(ctx, c, releaseNamespace))
		}
		served = fmt.Sprintf("Websites: served by kubia-apiserver from its own etcd (kubectl -n %s logs deploy/kubia-apiserver)\n", releaseNamespace) +
			fmt.Sprintf("Templates: the starter catalog in namespace %s (kubectl get templates -n %s; kubia new-app --template postgresql-persistent)\n",
				templates.Namespace, templates.Namespace) +
			routesHint(cluster.NodeIP())
	}
	return served + fmt.Sprintf("kubia-controller-manager: in the cluster (kubectl -n %s logs deploy/kubia-controller-manager)\n"+
		"kubia-broker (Open Service Broker): http://kubia-broker.%s.svc in the cluster, %s from this machine;\n"+
		"  user and password: kubectl -n %s get secret kubia-broker-auth -o go-template='{{.data.username|base64decode}} {{.data.password|base64decode}}'\n",
		releaseNamespace, releaseNamespace, hostURL, releaseNamespace), nil
}

// routesHint tells where routes are served and how to reach their names, which no DNS
// resolves: *.apps.kubia.local is under .local, so the router never answers for anyone
// else's names (see docs/api/route.md).
func routesHint(nodeIP string) string {
	return fmt.Sprintf("Routes: kubia-router serves *.%s on %s:80 and :443; reach a route's host with\n"+
		"  curl --resolve HOST:80:%s http://HOST/  (or: echo '%s HOST' >> /etc/hosts)\n", registration.DefaultRouteDomain, nodeIP, nodeIP, nodeIP)
}

// waitRouter waits until HAProxy answers on the node's port 80: a host no route serves
// gets its 503, which proves it serves the configuration of the first sync.
func waitRouter(ctx context.Context, url string) error {
	return waitStatus(ctx, url, "kubia-up-check."+registration.DefaultRouteDomain, http.StatusServiceUnavailable)
}

// waitAnswers waits until url answers 200. helm's --wait is no proof: after a restart the
// Deployments' status is the one stored before, while the kubelet is still restarting the
// pods and kube-proxy may still send the Service's traffic to their old addresses.
func waitAnswers(ctx context.Context, url string) error {
	return waitStatus(ctx, url, "", http.StatusOK)
}

// waitStatus waits until a GET of url (for host, when set) answers want. Each attempt is
// bounded, so one connection stuck on a stale address cannot use up the wait.
func waitStatus(ctx context.Context, url, host string, want int) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, brokerAnswerTimeout, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			return false, nil
		}
		resp.Body.Close()
		last = fmt.Errorf("GET %s: %s, want %d", url, resp.Status, want)
		return resp.StatusCode == want, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last attempt: %w)", err, last)
	}
	return err
}

// podsSummary tells, a line per pod of namespace, why it is not ready: what a user of a
// failed `kubia up` (or a CI log) needs, since the cluster stops with it.
func podsSummary(ctx context.Context, c client.Client, namespace string) string {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
		return fmt.Sprintf("listing the pods of %s: %v\n", namespace, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pods of %s:\n", namespace)
	for _, pod := range pods.Items {
		fmt.Fprintf(&b, "  %s: %s", pod.Name, pod.Status.Phase)
		for _, cond := range pod.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, ", %s=%s %s", cond.Type, cond.Status, cond.Reason)
			}
		}
		for _, cs := range pod.Status.ContainerStatuses {
			fmt.Fprintf(&b, "; %s ready=%t restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " waiting %s %s", w.Reason, w.Message)
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(&b, " last exit %d %s", t.ExitCode, t.Reason)
			}
		}
		b.WriteString("\n")
	}
	var events corev1.EventList
	if err := c.List(ctx, &events, client.InNamespace(namespace)); err != nil {
		fmt.Fprintf(&b, "listing the events of %s: %v\n", namespace, err)
		return b.String()
	}
	warnings := slices.DeleteFunc(events.Items, func(e corev1.Event) bool { return e.Type != corev1.EventTypeWarning })
	slices.SortFunc(warnings, func(a, b corev1.Event) int { return lastSeen(a).Compare(lastSeen(b)) })
	for _, e := range warnings[max(0, len(warnings)-10):] {
		fmt.Fprintf(&b, "  warning %s %s/%s: %s\n", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
	}
	return b.String()
}

// lastSeen is when an event last happened: the kubelet and newer controllers write
// events.k8s.io events, whose time is eventTime (or their series'), not lastTimestamp.
func lastSeen(e corev1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	default:
		return e.EventTime.Time
	}
}

// brokerAnswerTimeout bounds waitAnswers: long enough for a slow machine to restart the
// pods after kubia up restarts the node.
const brokerAnswerTimeout = 3 * time.Minute

// writeChart writes the embedded chart into dir, replacing what an earlier run left.
func writeChart(dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	err := fs.WalkDir(charts.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := charts.FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("writing the chart to %s: %w", dir, err)
	}
	return filepath.Join(dir, "kubia"), nil
}

// migrationFile holds the Websites of a switch from the CRD to kubia-apiserver between its
// two steps, so a kubia up killed in between finishes the switch on its next start.
func migrationFile(dataDir string) string { return filepath.Join(dataDir, "websites-migration.yaml") }

// switchFromCRD prepares a cluster whose Websites the CRD serves (an earlier kubia up, or
// --websites=crd) for kubia-apiserver: it saves the Websites and releases their children
// (kubia website migrate export), and hands the CRD's APIServices to the chart's release
// (Helm adopts objects with its ownership metadata; without kube-aggregator's label the
// CRD's registration leaves them alone).
func switchFromCRD(ctx context.Context, agg aggregator.Interface, c client.Client, dataDir string) error {
	saved := false // the Websites, once
	for _, name := range registration.Names() {
		svc, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		if !registration.IsCRDs(svc) {
			continue
		}
		if !saved {
			saved = true
			if err := website.MigrateExport(ctx, c, migrationFile(dataDir), io.Discard); err != nil {
				return fmt.Errorf("saving the CRD's Websites before switching to kubia-apiserver: %w", err)
			}
		}
		delete(svc.Labels, registration.AutomanagedLabel)
		if svc.Labels == nil {
			svc.Labels = map[string]string{}
		}
		svc.Labels["app.kubernetes.io/managed-by"] = "Helm"
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations["meta.helm.sh/release-name"] = releaseName
		svc.Annotations["meta.helm.sh/release-namespace"] = releaseNamespace
		if _, err := agg.ApiregistrationV1().APIServices().Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("handing APIService %s to the chart: %w", name, err)
		}
	}
	return nil
}

// completeTakeOver gives APIServices taken over from the CRD the chart's spec: Helm adopts
// an existing object but leaves its spec as it found it, so they would still say Local
// (also after a kubia up killed during a switch).
func completeTakeOver(ctx context.Context, agg aggregator.Interface, c client.Client) error {
	var tls corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "website-api-tls"}, &tls); err != nil {
		return fmt.Errorf("reading kubia-apiserver's CA: %w", err)
	}
	for _, a := range registration.APIServices {
		name := a.Name()
		svc, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if svc.Spec.Service != nil {
			continue // the chart's already
		}
		svc.Spec = registration.Spec(a, releaseNamespace, "website-api", 443, tls.Data["ca.crt"])
		if _, err := agg.ApiregistrationV1().APIServices().Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("pointing APIService %s at kubia-apiserver: %w", name, err)
		}
	}
	return nil
}

// finishSwitch ends a switch from the CRD: kubia-controller-manager and
// kube-controller-manager start again (watches opened before the switch stay on the CRD's
// storage until they time out, up to an hour: kube-controller-manager's garbage collector
// would not see kubia-apiserver's Websites, nor delete a deleted one's children, until
// then), then the saved Websites are created in kubia-apiserver and get their children back.
func finishSwitch(ctx context.Context, cluster *localcluster.Cluster, c client.Client, dataDir string) error {
	file := migrationFile(dataDir)
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(releaseNamespace),
		client.MatchingLabels{"app.kubernetes.io/name": "kubia-controller-manager"})
	if err != nil {
		return fmt.Errorf("restarting kubia-controller-manager after the switch: %w", err)
	}
	if err := cluster.RestartControllerManager(ctx); err != nil {
		return fmt.Errorf("restarting kube-controller-manager after the switch: %w", err)
	}
	if err := website.MigrateImport(ctx, c, file, io.Discard); err != nil {
		return fmt.Errorf("moving the CRD's Websites into kubia-apiserver (%s): %w", file, err)
	}
	return os.Rename(file, file+".imported")
}
