package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChurnJudge(t *testing.T) {
	base := ChurnState{Snapshot: Snapshot{ProcStat: ProcStat{RSSKiB: 20000, FDs: 12}, Goroutines: 30}, Mounts: 0}
	c := &ChurnResult{Before: base, Mid: base, After: base}
	c.Mid.RSSKiB, c.After.RSSKiB = 26000, 27000 // the heap's first rise, then within the slack
	c.judge()
	if !c.NoGrowth {
		t.Fatalf("no growth judged as growth: %v", c.Why)
	}
	c = &ChurnResult{Before: base, Mid: base, After: base}
	c.After.Goroutines, c.After.FDs, c.After.RSSKiB, c.After.NetnsFiles = 31, 14, 30000, 3
	c.judge()
	if c.NoGrowth || len(c.Why) != 4 {
		t.Fatalf("growth not found: %v", c.Why)
	}
}

func TestTargetsAndReport(t *testing.T) {
	r := &Results{Settings: DefaultSettings(false)}
	r.PodStart = []PodStartResult{
		{Network: "loopback", Podrun: Dist{N: 30, Median: 110}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 1.1},
		{Network: "loopback", PreparedAhead: true, Podrun: Dist{N: 30, Median: 85}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 0.85},
		{Network: "cni-bridge", Podrun: Dist{N: 30, Median: 130}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 1.3},
		{Network: "cni-bridge", PreparedAhead: true, Podrun: Dist{N: 30, Median: 70}, Floor: Dist{N: 30, Median: 100}, RatioMedian: 0.7},
	}
	r.Reaction = &ReactionResult{ExitToSidecarTERM: Dist{N: 5, Median: 25}, CrashToCreate: Dist{N: 5, Median: 5}}
	r.Footprint = &FootprintResult{Pods: 50, Idle: Snapshot{ProcStat: ProcStat{RSSKiB: 20 << 10}}, WithPods: Snapshot{ProcStat: ProcStat{RSSKiB: 70 << 10}}}
	r.evaluateTargets()
	want := map[string]string{
		"pod start loopback, sequential":           "met",
		"pod start loopback, prepared ahead":       "missed",
		"pod start cni-bridge, sequential":         "missed",
		"pod start cni-bridge, prepared ahead":     "met",
		"first sidecar stop signal after app exit": "missed",
		"sidecar restart issued after crash":       "met",
		"podrund RSS idle":                         "met",
		"podrund RSS with 50 pods":                 "missed",
		"growth across churn":                      "not measured",
	}
	for _, tg := range r.Targets {
		if w, ok := want[tg.Name]; !ok || w != tg.Status {
			t.Errorf("target %q: status %q, want %q", tg.Name, tg.Status, w)
		}
		delete(want, tg.Name)
	}
	if len(want) != 0 {
		t.Errorf("targets missing: %v", want)
	}
	var out bytes.Buffer
	r.WriteTables(&out)
	if !strings.Contains(out.String(), "| pod start, podrun sequential, loopback | 30 | 110.00 |") ||
		!strings.Contains(out.String(), "| pod start, podrun prepared ahead, cni-bridge | 30 | 70.00 |") ||
		strings.Count(out.String(), "| pod start, containerd floor, loopback |") != 1 {
		t.Errorf("table lacks the pod start row:\n%s", out.String())
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back Results
	if err := json.Unmarshal(b, &back); err != nil || back.PodStart[0].Podrun.Median != 110 {
		t.Fatalf("JSON round trip: %v %+v", err, back.PodStart)
	}
}

func TestParseTimestamped(t *testing.T) {
	want := time.Date(2026, 12, 6, 7, 59, 1, 123456789, time.UTC)
	got, err := parseTimestamped("2026-12-06T07:59:01.123456789Z up\n")
	if err != nil || !got.Equal(want) {
		t.Fatalf("parseTimestamped = %v, %v; want %v", got, err, want)
	}
	if _, err := parseTimestamped("up\n"); err == nil {
		t.Fatal("a line without a timestamp was accepted")
	}
}

// The stack's goal is stated per shimGrouping on the device figure (the
// distinct pages), only for the pod count it is set for; the report
// prints each stack's parts, both measures.
func TestStackTargets(t *testing.T) {
	stacks := []StackMemory{
		{ShimGrouping: "pod", Shims: 10, Loggers: 30, PSS: StackMiB{41.5, 35.3, 21.1, 97.9}, Alone: StackMiB{41.6, 36.2, 21.5, 99.2}},
		{ShimGrouping: "node", Shims: 1, Loggers: 30, PSS: StackMiB{40.4, 6.0, 20.9, 67.3}, Alone: StackMiB{40.5, 14.2, 2.0, 56.6}},
		{ShimGrouping: "rootless", AloneErr: errNoFrameNumbers.Error()},
	}
	for _, tc := range []struct {
		pods            int
		pod, node, none string
	}{{10, "missed", "met", "not measured"}, {50, "not measured", "not measured", "not measured"}} {
		r := &Results{Settings: DefaultSettings(false)}
		r.Footprint = &FootprintResult{Pods: tc.pods, Stacks: stacks}
		r.evaluateTargets()
		got := map[string]string{}
		for _, tg := range r.Targets {
			got[tg.Name] = tg.Status
		}
		for grouping, want := range map[string]string{"pod": tc.pod, "node": tc.node, "rootless": tc.none} {
			if g := got["stack below containerd, shimGrouping "+grouping]; g != want {
				t.Errorf("%d pods, shimGrouping %s: target %q, want %q", tc.pods, grouping, g, want)
			}
		}
	}
	var out bytes.Buffer
	(&FootprintResult{Pods: 10, Stacks: stacks}).writeTable(&out)
	for _, want := range []string{
		"shimGrouping pod, 10 shims and 30 log writers: PSS here podrund 41.5 + shims 35.3 + log writers 21.1 = 97.9 MiB; " +
			"alone on the device (distinct pages) podrund 41.6 + shims 36.2 + log writers 21.5 = 99.2 MiB",
		"shimGrouping node, 1 shims and 30 log writers: PSS here podrund 40.4 + shims 6.0 + log writers 20.9 = 67.3 MiB; " +
			"alone on the device (distinct pages) podrund 40.5 + shims 14.2 + log writers 2.0 = 56.6 MiB",
		"alone on the device (distinct pages) not measured: " + errNoFrameNumbers.Error(),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the footprint table lacks %q:\n%s", want, out.String())
		}
	}
}
