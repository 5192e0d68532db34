package website

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	extensionsv1 "github.com/kubia-dev/kubia/api/extensions/v1"
	"github.com/kubia-dev/kubia/internal/gitsync/syncstatus"
)

// podSync is what one pod's kubia-sync said on GET /status.
type podSync struct {
	pod    string
	ready  bool // the pod is Ready: it serves the site
	status syncstatus.Status
}

// syncReport sums up what a Website's pods say about syncing.
type syncReport struct {
	// running is how many pods run kubia-sync (have an address and are not going away).
	running int
	// answered are the pods whose kubia-sync answered, in name order.
	answered []podSync
}

// servedCommit is the commit most Ready pods serve ("" when no Ready pod answered); a tie
// goes to the smaller hash, so the status does not flip between equal counts.
func (s syncReport) servedCommit() string {
	counts := map[string]int{}
	for _, p := range s.answered {
		if p.ready && p.status.Commit != "" {
			counts[p.status.Commit]++
		}
	}
	best := ""
	for commit, n := range counts {
		if n > counts[best] || (n == counts[best] && commit < best) {
			best = commit
		}
	}
	return best
}

// failure is the last error of the first pod (by name) whose last sync failed, redacted
// again (an older kubia-sync may still run), or "" when none failed.
func (s syncReport) failure() string {
	for _, p := range s.answered {
		if p.status.LastError != "" {
			return syncstatus.Redact(p.status.LastError)
		}
	}
	return ""
}

// observeSync asks kubia-sync on each of the Website's running pods, directly at the pod's
// address: a pod whose first sync fails is never Ready, so no Service endpoint would
// reach it.
func (r *Reconciler) observeSync(ctx context.Context, site *extensionsv1.Website) (syncReport, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(site.Namespace), client.MatchingLabels(selectorLabels(site))); err != nil {
		return syncReport{}, fmt.Errorf("listing pods: %w", err)
	}
	var running []*corev1.Pod
	for i := range pods.Items {
		if pod := &pods.Items[i]; runsSync(pod) {
			running = append(running, pod)
		}
	}
	slices.SortFunc(running, func(a, b *corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
	report := syncReport{running: len(running)}
	answers := make([]*podSync, len(running))
	var wg sync.WaitGroup
	for i, pod := range running {
		wg.Go(func() {
			status, err := readSyncStatus(ctx, pod.Status.PodIP)
			if err != nil {
				log.FromContext(ctx).V(1).Info("Could not read kubia-sync's status", "pod", pod.Name, "error", err)
				return
			}
			answers[i] = &podSync{pod: pod.Name, ready: podReady(pod), status: status}
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a != nil {
			report.answered = append(report.answered, *a)
		}
	}
	return report, nil
}

// runsSync tells whether a pod's kubia-sync can be asked: the pod has an address and is
// running, and is not being deleted.
func runsSync(pod *corev1.Pod) bool {
	return pod.Status.PodIP != "" && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp.IsZero()
}

func podReady(pod *corev1.Pod) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// syncStatusClient opens a connection per read: thousands of Websites' pods would
// otherwise each keep an idle connection open.
var syncStatusClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// syncStatusTimeout bounds each read; the pods are read in parallel.
const syncStatusTimeout = 2 * time.Second

// readSyncStatus reads kubia-sync's GET /status on the pod at podIP.
func readSyncStatus(ctx context.Context, podIP string) (syncstatus.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, syncStatusTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(podIP, strconv.Itoa(syncPort)) + syncstatus.StatusPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return syncstatus.Status{}, err
	}
	resp, err := syncStatusClient.Do(req)
	if err != nil {
		return syncstatus.Status{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return syncstatus.Status{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var status syncstatus.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&status); err != nil {
		return syncstatus.Status{}, fmt.Errorf("decoding %s: %w", url, err)
	}
	return status, nil
}
