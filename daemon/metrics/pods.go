package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

var (
	podsDesc = prometheus.NewDesc("podrun_pods",
		"Pods known to podrund by phase.", []string{"phase"}, nil)
	restartsDesc = prometheus.NewDesc("podrun_container_restarts_total",
		"Restarts of each container of each pod (its restartCount).",
		[]string{"namespace", "pod", "container"}, nil)
)

// podCollector reads the store at scrape time, so the figures are always
// those of the API and need no bookkeeping in the engine.
type podCollector struct{ list PodLister }

func (c *podCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- podsDesc
	ch <- restartsDesc
}

func (c *podCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pods, err := c.list(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(podsDesc, err)
		return
	}
	phases := map[corev1.PodPhase]float64{
		corev1.PodPending: 0, corev1.PodRunning: 0, corev1.PodSucceeded: 0,
		corev1.PodFailed: 0, corev1.PodUnknown: 0,
	}
	for _, p := range pods {
		phase := p.Status.Phase
		if phase == "" {
			phase = corev1.PodPending
		}
		phases[phase]++
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue,
				float64(cs.RestartCount), p.Namespace, p.Name, cs.Name)
		}
	}
	for phase, n := range phases {
		ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, n, string(phase))
	}
}
