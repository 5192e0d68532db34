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

// podWebsiteField indexes the cached pods by the Website that runs them, so a reconcile
// lists its own pods, not every pod of the namespace.
const podWebsiteField = "kubia.dev/website"

// indexPodWebsite is the podWebsiteField of a Website's pod.
func indexPodWebsite(obj client.Object) []string {
	labels := obj.GetLabels()
	if labels[nameLabel] != nameValue || labels[instanceLabel] == "" {
		return nil
	}
	return []string{labels[instanceLabel]}
}

// podSync is what one pod's kubia-sync said on GET /status.
type podSync struct {
	ready  bool // the pod is Ready: it serves the site
	status syncstatus.Status
}

// syncReport sums up what a Website's pods say about syncing.
type syncReport struct {
	// running is how many pods run kubia-sync (have an address and are not going away).
	running int
	// starting is how many of them started a moment ago and have not answered yet.
	starting int
	// answered are the pods whose kubia-sync answered, in pod name order.
	answered []podSync
}

// servedCommit is the commit most Ready pods serve ("" when no Ready pod answered); a tie
// goes to the smaller hash, so the status does not flip between equal counts.
func (s syncReport) servedCommit() string {
	var commits []string
	for _, p := range s.answered {
		if p.ready && p.status.Commit != "" {
			commits = append(commits, p.status.Commit)
		}
	}
	return mostCommon(commits)
}

// failure is the last error most failing pods report (redacted again: an older kubia-sync
// may still run), or "" when none failed.
func (s syncReport) failure() string {
	var errs []string
	for _, p := range s.answered {
		if p.status.LastError != "" {
			errs = append(errs, syncstatus.Redact(p.status.LastError))
		}
	}
	return mostCommon(errs)
}

// succeeded tells whether a pod's last sync succeeded (and none failed, see failure).
func (s syncReport) succeeded() bool {
	return slices.ContainsFunc(s.answered, func(p podSync) bool { return !p.status.LastSync.IsZero() })
}

// firstSyncUnderWay tells whether a kubia-sync is still at its first try: it answered
// without an outcome yet, or its pod started a moment ago and it has not answered yet.
func (s syncReport) firstSyncUnderWay() bool {
	return s.starting > 0 || slices.ContainsFunc(s.answered, func(p podSync) bool {
		return p.status.LastSync.IsZero() && p.status.LastError == ""
	})
}

// mostCommon is the most frequent of values, the smallest on a tie, "" for none.
func mostCommon(values []string) string {
	counts := map[string]int{}
	best := ""
	for _, v := range values {
		counts[v]++
		if n := counts[v]; n > counts[best] || (n == counts[best] && v < best) {
			best = v
		}
	}
	return best
}

// startGrace is how long after its pod started a kubia-sync that does not answer is taken
// to be starting rather than unreachable.
const startGrace = time.Minute

// observeSync asks kubia-sync on each of the Website's running pods, directly at the pod's
// address: a pod whose first sync fails is never Ready, so no Service endpoint would
// reach it.
func (r *Reconciler) observeSync(ctx context.Context, site *extensionsv1.Website) (syncReport, error) {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(site.Namespace), client.MatchingFields{podWebsiteField: site.Name}); err != nil {
		return syncReport{}, fmt.Errorf("listing pods: %w", err)
	}
	var running []*corev1.Pod
	for i := range pods.Items {
		if pod := &pods.Items[i]; runsSync(pod) {
			running = append(running, pod)
		}
	}
	slices.SortFunc(running, func(a, b *corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
	answers := make([]*podSync, len(running))
	var wg sync.WaitGroup
	for i, pod := range running {
		wg.Go(func() {
			status, err := readSyncStatus(ctx, pod.Status.PodIP)
			if err != nil {
				log.FromContext(ctx).V(1).Info("Could not read kubia-sync's status", "pod", pod.Name, "error", err)
				return
			}
			answers[i] = &podSync{ready: podReady(pod), status: status}
		})
	}
	wg.Wait()
	report := syncReport{running: len(running)}
	for i, a := range answers {
		switch {
		case a != nil:
			report.answered = append(report.answered, *a)
		case running[i].Status.StartTime != nil && time.Since(running[i].Status.StartTime.Time) < startGrace:
			report.starting++
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

// syncStatusClient opens a connection per read (thousands of Websites' pods would
// otherwise each keep an idle connection open) and follows no redirect: the answer is
// the pod's own.
var syncStatusClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// syncStatusTimeout bounds each read; the pods are read in parallel, on the cluster's own
// network, where a healthy kubia-sync answers in milliseconds.
const syncStatusTimeout = time.Second

// syncStatusPort is where kubia-sync is asked (a variable for tests, which cannot all
// listen on the real port).
var syncStatusPort = syncstatus.Port

// readSyncStatus reads kubia-sync's GET /status on the pod at podIP.
func readSyncStatus(ctx context.Context, podIP string) (syncstatus.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, syncStatusTimeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(podIP, strconv.Itoa(syncStatusPort)) + syncstatus.StatusPath
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
