// Package metrics is podrund's Prometheus registry: pods by phase and
// container restarts (read from the store at scrape time), pod start
// latency shaped like Kubernetes' pod startup SLI, Job-style completion
// latency, probe results, API request durations and containerd
// reachability.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
)

// podStartBuckets are the buckets of kubelet_pod_start_sli_duration_seconds.
var podStartBuckets = []float64{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180,
	240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}

// Recorder is what the engine and the server report through. The zero
// cost Nop is used where no metrics are wanted.
type Recorder interface {
	// ObservePodStart: from the pod's creation until all its containers
	// have started (image pulls included; podrun has no separate SLI).
	ObservePodStart(d time.Duration)
	// ObserveJobCompletion: from a regular container's exit to the pod's
	// Job-style completion.
	ObserveJobCompletion(d time.Duration)
	// ObserveProbe: a probe result reported to the engine; kind
	// Liveness|Readiness|Startup. d <= 0: the run's duration is unknown
	// and only the result is counted.
	ObserveProbe(kind, result string, d time.Duration)
	// ObserveRequest: one API request.
	ObserveRequest(route, method string, code int, d time.Duration)
}

// Nop is a Recorder that records nothing.
type Nop struct{}

func (Nop) ObservePodStart(time.Duration)                     {}
func (Nop) ObserveJobCompletion(time.Duration)                {}
func (Nop) ObserveProbe(string, string, time.Duration)        {}
func (Nop) ObserveRequest(string, string, int, time.Duration) {}

// PodLister gives the pods for the by-phase and restart figures.
type PodLister func(ctx context.Context) ([]*corev1.Pod, error)

// Pinger reports whether containerd answers.
type Pinger func(ctx context.Context) error

// Metrics owns the registry and implements Recorder.
type Metrics struct {
	reg        *prometheus.Registry
	podStart   prometheus.Histogram
	jobDone    prometheus.Histogram
	probes     *prometheus.CounterVec
	probeDur   *prometheus.HistogramVec
	requestDur *prometheus.HistogramVec
}

// New builds the registry. pods and ping may be nil (their figures are
// then absent).
func New(pods PodLister, ping Pinger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podrun_pod_start_duration_seconds",
			Help:    "Time from pod creation until all its containers have started (Kubernetes pod startup SLI buckets).",
			Buckets: podStartBuckets,
		}),
		jobDone: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podrun_job_completion_duration_seconds",
			Help:    "Time from a regular container's exit to the pod's Job-style completion.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120},
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podrun_probe_total",
			Help: "Probe results reported to the engine (result changes and failures at threshold) by kind and result.",
		}, []string{"probe_type", "result"}),
		probeDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podrun_probe_duration_seconds",
			Help:    "Duration of probe runs.",
			Buckets: prometheus.DefBuckets,
		}, []string{"probe_type"}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podrun_api_request_duration_seconds",
			Help:    "API request durations by route, method and HTTP code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(m.podStart, m.jobDone, m.probes, m.probeDur, m.requestDur,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pods != nil {
		m.reg.MustRegister(&podCollector{list: pods})
	}
	if ping != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "podrun_containerd_up",
			Help: "1 when containerd answers, 0 when it does not.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if ping(ctx) != nil {
				return 0
			}
			return 1
		}))
	}
	return m
}

// Registry is the underlying registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) ObservePodStart(d time.Duration) { m.podStart.Observe(d.Seconds()) }

func (m *Metrics) ObserveJobCompletion(d time.Duration) { m.jobDone.Observe(d.Seconds()) }

func (m *Metrics) ObserveProbe(kind, result string, d time.Duration) {
	m.probes.WithLabelValues(kind, result).Inc()
	if d > 0 {
		m.probeDur.WithLabelValues(kind).Observe(d.Seconds())
	}
}

func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	m.requestDur.WithLabelValues(route, method, strconv.Itoa(code)).Observe(d.Seconds())
}
