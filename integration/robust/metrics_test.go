package robust

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

type families map[string]*dto.MetricFamily

// scrape reads /metrics and parses it with Prometheus' own text parser.
func scrape(t *testing.T, c *harness.Client) families {
	t.Helper()
	code, body := c.REST(http.MethodGet, "/metrics", "", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

// value is the value (counter, gauge) or sample count (histogram) of the
// series of name whose labels include want; -1 if absent.
func (f families) value(name string, want map[string]string) float64 {
	fam := f[name]
	if fam == nil {
		return -1
	}
	total, found := 0.0, false
next:
	for _, m := range fam.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

// TestMetrics: /metrics parses, and the figures move as pods start,
// restart and complete.
func TestMetrics(t *testing.T) {
	c := freshClient(t, env.Daemon)
	m0 := scrape(t, c)
	for _, name := range []string{"podrun_pods", "podrun_pod_start_duration_seconds", "podrun_containerd_up",
		"podrun_api_request_duration_seconds", "process_resident_memory_bytes"} {
		if m0.value(name, nil) < 0 {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if v := m0.value("podrun_containerd_up", nil); v != 1 {
		t.Errorf("podrun_containerd_up = %v with containerd running", v)
	}
	applyAll(t, c,
		newPod(c, "runner", corev1.RestartPolicyAlways, nil, withProbes(shell("app", httpServe), true, false)),
		newPod(c, "crasher", corev1.RestartPolicyAlways, nil, shell("app", "sleep 1; exit 1")),
		newPod(c, "done", corev1.RestartPolicyNever, nil, shell("app", "sleep 1; exit 0")))
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		p := listPods(t, c)
		return isReady(p["runner"]) && restartsOf(p["crasher"], "app") >= 1 &&
			p["done"] != nil && phaseOf(p["done"]) == corev1.PodSucceeded
	}))
	// The restart count as the API shows it, read after the scrape can only be higher.
	m1 := scrape(t, c)
	restarts := harness.ContainerStatus(c.GetPod("crasher"), "app").RestartCount
	delta := func(name string, labels map[string]string) float64 {
		return m1.value(name, labels) - max(m0.value(name, labels), 0)
	}
	if d := delta("podrun_pod_start_duration_seconds", nil); d < 2 {
		t.Errorf("pod start latency observations grew by %v, want >= 2 (runner, crasher, done)", d)
	}
	if d := delta("podrun_job_completion_duration_seconds", nil); d < 1 {
		t.Errorf("Job-style completion observations grew by %v, want >= 1 (done)", d)
	}
	if d := delta("podrun_pods", map[string]string{"phase": "Running"}); d < 2 {
		t.Errorf("podrun_pods{phase=Running} grew by %v, want >= 2", d)
	}
	if d := delta("podrun_pods", map[string]string{"phase": "Succeeded"}); d < 1 {
		t.Errorf("podrun_pods{phase=Succeeded} grew by %v, want >= 1", d)
	}
	got := m1.value("podrun_container_restarts_total", map[string]string{"namespace": c.NS, "pod": "crasher", "container": "app"})
	if got < 1 || got > float64(restarts) {
		t.Errorf("podrun_container_restarts_total for crasher/app = %v, API restartCount %d", got, restarts)
	}
	if d := delta("podrun_probe_total", map[string]string{"probe_type": "Readiness"}); d < 1 {
		t.Errorf("readiness probe results grew by %v, want >= 1", d)
	}
	if d := delta("podrun_api_request_duration_seconds", nil); d < 1 {
		t.Errorf("API request observations grew by %v", d)
	}
}
