package bench

// Metric is one key figure reported to the testing framework
// (b.ReportMetric); Unit is the name go test prints after the value.
type Metric struct {
	Value float64
	Unit  string
}

// Metrics are the run's key figures, the ones BENCHMARKS.md sets targets for,
// in a fixed order. Figures a run did not measure are left out rather
// than reported as 0, which would read as a perfect result.
func (r *Results) Metrics() []Metric {
	var m []Metric
	add := func(measured bool, value float64, unit string) {
		if measured {
			m = append(m, Metric{Value: value, Unit: unit})
		}
	}
	for _, p := range r.PodStart {
		suffix := ""
		if p.Network != "loopback" {
			suffix = "-" + p.Network
		}
		if p.PreparedAhead {
			suffix += "-ahead"
		}
		add(p.Podrun.N > 0, p.Podrun.Median, "pod-start"+suffix+"-median-ms")
		add(p.Podrun.N > 0 && p.Floor.N > 0, p.RatioMedian, "ratio-to-floor"+suffix)
		add(p.FirstLine.N > 0, p.FirstLine.Median, "first-line"+suffix+"-median-ms")
		add(p.AppFirstLine.N > 0, p.AppFirstLine.Median, "app-first-line"+suffix+"-median-ms")
	}
	if rr := r.Reaction; rr != nil {
		add(rr.ExitToSidecarTERM.N > 0, rr.ExitToSidecarTERM.Median, "sidecar-stop-ms")
		add(rr.CrashToCreate.N > 0, rr.CrashToCreate.Median, "restart-issued-ms")
	}
	if f := r.Footprint; f != nil {
		add(f.Idle.RSSKiB > 0, float64(f.Idle.RSSKiB)/1024, "rss-idle-MiB")
		add(f.WithPods.RSSKiB > 0, float64(f.WithPods.RSSKiB)/1024, "rss-with-pods-MiB")
	}
	if s := r.Scale; s != nil {
		add(s.Pods > 0, s.AllRunningSec, "scale-all-running-s")
	}
	return m
}
