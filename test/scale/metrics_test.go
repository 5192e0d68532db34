package scale

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubia-dev/kubia/test/harness"
)

// apiWrites reads the servers' counts of writes so far by resource, subresource and verb
// (apiserver_request_total), to show what each phase made the cluster do.
func apiWrites(b *testing.B, servers ...*rest.Config) map[string]float64 {
	writes := map[string]float64{}
	for _, cfg := range servers {
		eachSample(b, cfg, "apiserver_request_total", func(l map[string]string, v float64) {
			switch l["verb"] {
			case "POST", "PUT", "PATCH", "DELETE":
				writes[strings.TrimSuffix(l["resource"]+"/"+l["subresource"], "/")+" "+l["verb"]] += v
			}
		})
	}
	return writes
}

// metricSum adds up the samples of metric family name at the server's /metrics whose
// labels include match.
func metricSum(b *testing.B, server *rest.Config, name string, match map[string]string) float64 {
	sum := 0.0
	eachSample(b, server, name, func(l map[string]string, v float64) {
		for k, want := range match {
			if l[k] != want {
				return
			}
		}
		sum += v
	})
	return sum
}

// eachSample calls each with the labels and value of every sample of metric family name
// at the server's /metrics; it fails the benchmark if the server has no such family.
func eachSample(b *testing.B, server *rest.Config, name string, each func(labels map[string]string, value float64)) {
	data, err := kubernetes.NewForConfigOrDie(server).RESTClient().Get().AbsPath("/metrics").DoRaw(b.Context())
	if err != nil {
		b.Fatalf("metrics of %s: %v", server.Host, err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		b.Fatalf("metrics of %s: %v", server.Host, err)
	}
	family := families[name]
	if family == nil {
		b.Fatalf("%s reports no %s", server.Host, name)
	}
	for _, m := range family.GetMetric() {
		labels := map[string]string{}
		for _, pair := range m.GetLabel() {
			labels[pair.GetName()] = pair.GetValue()
		}
		each(labels, m.GetCounter().GetValue()+m.GetGauge().GetValue()+m.GetUntyped().GetValue())
	}
}

// logBetween logs the writes of each kind made between two readings (kinds with fewer
// than 10 left out), and the CPU time each process and the machine used.
func logBetween(b *testing.B, phase string, before, after reading) {
	var lines []string
	total := 0.0
	for key, count := range after.writes {
		if d := count - before.writes[key]; d >= 10 {
			lines = append(lines, fmt.Sprintf("%6.0f %s", d, key))
			total += d
		}
	}
	slices.Sort(lines)
	var cpu []string
	ours := 0.0
	for name, seconds := range after.cpu {
		d := seconds - before.cpu[name]
		cpu = append(cpu, fmt.Sprintf("%s %.1f", name, d))
		ours += d
	}
	slices.Sort(cpu)
	machine := after.machine - before.machine
	b.Logf("API writes during %s: %.0f\n%s\nCPU seconds in %.1f s on %d cores: %s; the machine %.1f, other processes %.1f",
		phase, total, strings.Join(lines, "\n"), after.at.Sub(before.at).Seconds(), runtime.NumCPU(),
		strings.Join(cpu, ", "), machine, machine-ours)
}

// waitQuiet waits until the machine has used under a tenth of its CPU for 3 s, so that
// each phase starts on a cluster at rest rather than among the work the last one left
// (a namespace's deletion, kube-controller-manager's relists after a restart). It gives
// up after 3 minutes, saying so.
func waitQuiet(b *testing.B) {
	const window = 3 * time.Second
	began := time.Now()
	for time.Since(began) < 3*time.Minute {
		before, err := harness.MachineCPUSeconds()
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(window)
		after, err := harness.MachineCPUSeconds()
		if err != nil {
			b.Fatal(err)
		}
		if busy := (after - before) / (window.Seconds() * float64(runtime.NumCPU())); busy < 0.1 {
			b.Logf("the machine is quiet (%.0f %% busy) after %s", 100*busy, time.Since(began).Round(time.Second))
			return
		}
	}
	b.Logf("the machine was still busy after %s; starting anyway", time.Since(began).Round(time.Second))
}
