package bench

import (
	"reflect"
	"testing"
)

func TestMetrics(t *testing.T) {
	r := &Results{
		PodStart: []PodStartResult{
			{Network: "loopback", Podrun: Dist{N: 30, Median: 110}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 1.1},
			{Network: "loopback", PreparedAhead: true, Podrun: Dist{N: 30, Median: 80}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 0.8},
			{Network: "cni-bridge", Podrun: Dist{N: 30, Median: 150}, RatioMedian: 0}, // floor failed
		},
		Reaction:  &ReactionResult{ExitToSidecarTERM: Dist{N: 5, Median: 12.5}, CrashToCreate: Dist{N: 5, Median: 4}},
		Footprint: &FootprintResult{Idle: Snapshot{ProcStat: ProcStat{RSSKiB: 20 << 10}}},
	}
	want := []Metric{
		{110, "pod-start-median-ms"}, {1.1, "ratio-to-floor"},
		{80, "pod-start-ahead-median-ms"}, {0.8, "ratio-to-floor-ahead"},
		{150, "pod-start-cni-bridge-median-ms"},
		{12.5, "sidecar-stop-ms"}, {4, "restart-issued-ms"},
		{20, "rss-idle-MiB"},
	}
	if got := r.Metrics(); !reflect.DeepEqual(got, want) {
		t.Fatalf("metrics\n got %v\nwant %v", got, want)
	}
	if got := (&Results{}).Metrics(); len(got) != 0 {
		t.Fatalf("an empty run reported %v", got)
	}
}
