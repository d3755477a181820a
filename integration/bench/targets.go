package bench

import "fmt"

// evaluateTargets states BENCHMARKS.md's goals against the figures.
func (r *Results) evaluateTargets() {
	for _, network := range startNetworks(r.PodStart) {
		seq, ahead := findStart(r.PodStart, network, false), findStart(r.PodStart, network, true)
		r.target("pod start "+network+", sequential", "≤ 1.15 × floor (median)",
			fmt.Sprintf("%.3f ×", seq.RatioMedian), seq.RatioMedian <= 1.15, seq.Podrun.N > 0 && seq.Floor.N > 0)
		r.target("pod start "+network+", prepared ahead", "< 0.8 × floor (median)",
			fmt.Sprintf("%.3f ×", ahead.RatioMedian), ahead.RatioMedian < 0.8, ahead.Podrun.N > 0 && ahead.Floor.N > 0)
	}
	rr := r.Reaction
	have := rr != nil && rr.ExitToSidecarTERM.N > 0
	var term, create float64
	if have {
		term, create = rr.ExitToSidecarTERM.Median, rr.CrashToCreate.Median
	}
	r.target("first sidecar stop signal after app exit", "≤ 20 ms (median)", fmt.Sprintf("%.2f ms", term), term <= 20, have)
	r.target("sidecar restart issued after crash", "≤ 20 ms (median)", fmt.Sprintf("%.2f ms", create), create <= 20, have)
	f := r.Footprint
	idle, pods := 0.0, 0.0
	if f != nil {
		idle, pods = float64(f.Idle.RSSKiB)/1024, float64(f.WithPods.RSSKiB)/1024
	}
	r.target("podrund RSS idle", "< 25 MiB", fmt.Sprintf("%.1f MiB", idle), idle < 25, f != nil && f.Idle.RSSKiB > 0)
	r.target(fmt.Sprintf("podrund RSS with %d pods", r.Settings.FootprintPods), "< 60 MiB", fmt.Sprintf("%.1f MiB", pods),
		pods < 60, f != nil && f.WithPods.RSSKiB > 0)
	if f != nil {
		r.stackTargets(f)
	}
	c := r.Churn
	val := ""
	if c != nil {
		val = "none"
		if !c.NoGrowth {
			val = fmt.Sprint(c.Why)
		}
	}
	r.target("growth across churn", "none", val, c != nil && c.NoGrowth, c != nil)
}

// startNetworks lists the networks of the pod-start results in order.
func startNetworks(ps []PodStartResult) []string {
	var out []string
	for _, p := range ps {
		if len(out) == 0 || out[len(out)-1] != p.Network {
			out = append(out, p.Network)
		}
	}
	return out
}

// findStart is the result of network in the given mode (zero if none).
func findStart(ps []PodStartResult, network string, ahead bool) PodStartResult {
	for _, p := range ps {
		if p.Network == network && p.PreparedAhead == ahead {
			return p
		}
	}
	return PodStartResult{Network: network, PreparedAhead: ahead}
}

// stackPods is the pod count the stack's goal is set for.
const stackPods = 10

// stackTargets states the edge host's goal for the stack below
// containerd, under each shimGrouping measured: under 60 MiB of PSS on the
// device (the stack's distinct pages, StackMemory.Alone) with 10 pods of 3
// containers. Another pod count does not measure it.
func (r *Results) stackTargets(f *FootprintResult) {
	for _, s := range f.Stacks {
		total := s.Alone.Total
		r.target(fmt.Sprintf("stack below containerd, shimGrouping %s", s.ShimGrouping),
			fmt.Sprintf("< 60 MiB PSS alone on the device, %d pods × 3 containers", stackPods), fmt.Sprintf("%.1f MiB", total),
			total < 60, f.Pods == stackPods && total > 0)
	}
}
