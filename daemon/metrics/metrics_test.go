package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, mt := range f.Metric {
			key := name
			for _, l := range mt.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.Gauge != nil:
				out[key] = mt.Gauge.GetValue()
			case mt.Counter != nil:
				out[key] = mt.Counter.GetValue()
			case mt.Histogram != nil:
				out[key+",count"] = float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestFiguresMove(t *testing.T) {
	var pods []*corev1.Pod
	var pingErr error
	m := New(func(context.Context) ([]*corev1.Pod, error) { return pods, nil },
		func(context.Context) error { return pingErr })
	got := scrape(t, m)
	if got["podrun_pods,phase=Running"] != 0 || got["podrun_containerd_up"] != 1 {
		t.Fatalf("initial figures wrong: %v", got)
	}
	pods = []*corev1.Pod{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "p"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: 3}}},
	}}
	pingErr = errors.New("down")
	m.ObservePodStart(1500 * time.Millisecond)
	m.ObserveRequest("/api/v1/namespaces/{ns}/pods", "GET", 200, time.Millisecond)
	m.ObserveProbe("Readiness", "success", time.Millisecond)
	m.ObserveJobCompletion(time.Second)
	got = scrape(t, m)
	checks := map[string]float64{
		"podrun_pods,phase=Running":                                                                        1,
		"podrun_container_restarts_total,container=c,namespace=d,pod=p":                                    3,
		"podrun_containerd_up":                                                                             0,
		"podrun_pod_start_duration_seconds,count":                                                          1,
		"podrun_job_completion_duration_seconds,count":                                                     1,
		"podrun_probe_total,probe_type=Readiness,result=success":                                           1,
		"podrun_api_request_duration_seconds,code=200,method=GET,route=/api/v1/namespaces/{ns}/pods,count": 1,
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}
