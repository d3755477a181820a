package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Results is everything one run measured; it is written as JSON and
// printed as markdown tables.
type Results struct {
	Machine   Machine             `json:"machine"`
	Settings  Settings            `json:"settings"`
	Started   time.Time           `json:"started"`
	Seconds   float64             `json:"seconds"`
	LoadStart string              `json:"loadAvgStart"` // /proc/loadavg when the phases began
	LoadEnd   string              `json:"loadAvgEnd"`
	PodStart  []PodStartResult    `json:"podStart,omitempty"`
	Reaction  *ReactionResult     `json:"reaction,omitempty"`
	Footprint *FootprintResult    `json:"footprint,omitempty"`
	Scale     *ScaleResult        `json:"scale,omitempty"`
	Churn     *ChurnResult        `json:"churn,omitempty"`
	Boot      *BootResult         `json:"boot,omitempty"`
	Targets   []Target            `json:"targets"`
	Errors    []string            `json:"errors,omitempty"`
	Notes     []string            `json:"notes,omitempty"`
	Leaks     map[string][]string `json:"leaks,omitempty"` // per daemon, harness leak check after it stopped
}

// PodStartResult is the pod-start measurement for one network mode.
type PodStartResult struct {
	Network string `json:"network"` // loopback | cni-bridge
	// PreparedAhead: podrund prepared later containers while earlier ones
	// started (prepareAhead: true); false: sequential (prepareAhead: false).
	// Both series of a network share the floor's samples.
	PreparedAhead bool       `json:"preparedAhead"`
	Podrun        Dist       `json:"podrun"`      // apply → every container running, seen on the watch stream
	Floor         Dist       `json:"floor"`       // containerd client: 3 × (create, task create, start)
	RatioMedian   float64    `json:"ratioMedian"` // podrun median / floor median
	RatioP90      float64    `json:"ratioP90"`
	Delete        Dist       `json:"delete"` // DELETE → DELETED event (SIGTERM honoured at once)
	Spans         StartSpans `json:"spans"`
	// FirstLine and AppFirstLine: apply → the first log line of the first
	// container (sidecar-1) and of the app, as podrun's log writer stamped
	// it: when each container's process was really running.
	FirstLine    Dist `json:"firstLine"`
	AppFirstLine Dist `json:"appFirstLine"`
}

// StartSpans splits the starts by containerd's own events of the three
// containers: where podrun's time goes, and the same inner span of the floor.
type StartSpans struct {
	ApplyToFirstCreate          Dist `json:"applyToFirstCreate"`          // API, store, sandbox, image, env, spec
	FirstCreateToLastStart      Dist `json:"firstCreateToLastStart"`      // the three containers' create+start
	LastStartToWatch            Dist `json:"lastStartToWatch"`            // status saved and published, received
	FloorFirstCreateToLastStart Dist `json:"floorFirstCreateToLastStart"` // the floor, same events
}

// mode names the series: sequential or prepared ahead.
func (p PodStartResult) mode() string {
	if p.PreparedAhead {
		return "prepared ahead"
	}
	return "sequential"
}

// Target is one of BENCHMARKS.md's goals, met or not.
type Target struct {
	Name   string `json:"name"`
	Goal   string `json:"goal"`
	Value  string `json:"value"`
	Met    bool   `json:"met"`
	Status string `json:"status"` // met | missed | not measured
}

func (r *Results) target(name, goal, value string, met, measured bool) {
	t := Target{Name: name, Goal: goal, Value: value, Met: met && measured, Status: "missed"}
	switch {
	case !measured:
		t.Status, t.Value = "not measured", "-"
	case met:
		t.Status = "met"
	}
	r.Targets = append(r.Targets, t)
}

// WriteJSON writes the results to path.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// distRow is a markdown row "| name | n | median | p90 | p99 | max |".
func distRow(name string, d Dist) string {
	if d.N == 0 {
		return fmt.Sprintf("| %s | 0 | not measured | | | |", name)
	}
	return fmt.Sprintf("| %s | %d | %.2f | %.2f | %.2f | %.2f |", name, d.N, d.Median, d.P90, d.P99, d.Max)
}

const distHeader = "| measurement | n | median ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|"

// WriteTables prints the results as markdown tables.
func (r *Results) WriteTables(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\n### podrun benchmark (%s, %s)\n\n", r.Started.UTC().Format(time.RFC3339), map[bool]string{true: "quick", false: "full"}[r.Settings.Quick])
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %d MiB RAM, kernel %s, %s, containerd %s, %s, podrun %s\n\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.Cgroup, m.Containerd, m.GoVersion, m.Commit)
	fmt.Fprintf(w, "Load average at the start: %s; at the end: %s; run took %.0f s\n\n", r.LoadStart, r.LoadEnd, r.Seconds)
	if len(r.PodStart) > 0 || r.Reaction != nil {
		fmt.Fprintln(w, distHeader)
	}
	for _, p := range r.PodStart {
		mode := p.mode()
		if !p.PreparedAhead {
			fmt.Fprintln(w, distRow("pod start, containerd floor, "+p.Network, p.Floor))
			fmt.Fprintln(w, distRow("… floor: 1st created → 3rd task started, "+p.Network, p.Spans.FloorFirstCreateToLastStart))
		}
		fmt.Fprintln(w, distRow("pod start, podrun "+mode+", "+p.Network, p.Podrun))
		fmt.Fprintln(w, distRow("pod delete, podrun "+mode+", "+p.Network, p.Delete))
		fmt.Fprintln(w, distRow("… podrun "+mode+": apply → 1st container's first line, "+p.Network, p.FirstLine))
		fmt.Fprintln(w, distRow("… podrun "+mode+": apply → app's first line, "+p.Network, p.AppFirstLine))
		fmt.Fprintln(w, distRow("… podrun "+mode+": apply → 1st container created, "+p.Network, p.Spans.ApplyToFirstCreate))
		fmt.Fprintln(w, distRow("… podrun "+mode+": 1st created → 3rd task started, "+p.Network, p.Spans.FirstCreateToLastStart))
		fmt.Fprintln(w, distRow("… podrun "+mode+": 3rd task started → watch event, "+p.Network, p.Spans.LastStartToWatch))
	}
	if rr := r.Reaction; rr != nil {
		fmt.Fprintln(w, distRow("app exit → first sidecar SIGTERM", rr.ExitToSidecarTERM))
		fmt.Fprintln(w, distRow("app exit → pod Succeeded (watch)", rr.ExitToSucceeded))
		fmt.Fprintln(w, distRow("sidecar crash → restart issued (create)", rr.CrashToCreate))
		fmt.Fprintln(w, distRow("sidecar crash → restarted (task start)", rr.CrashToStart))
		fmt.Fprintln(w, distRow("calibration: kill → trap file seen", rr.SignalBaseline))
		fmt.Fprintln(w, distRow("app exit → app reaped (container deleted)", rr.ExitToAppReaped))
		fmt.Fprintln(w, distRow("sidecar crash → crashed instance reaped", rr.CrashToSidecarReaped))
	}
	if s := r.Scale; s != nil {
		fmt.Fprintln(w, distRow(fmt.Sprintf("scale: per pod, %d at once", s.Pods), s.PerPod))
		fmt.Fprintln(w, distRow(fmt.Sprintf("API list of %d pods", s.Pods), s.List))
	}
	fmt.Fprintln(w)
	for _, p := range r.PodStart {
		fmt.Fprintf(w, "- pod start %s, %s: podrun/floor = %.3f (median), %.3f (p90)\n",
			p.Network, p.mode(), p.RatioMedian, p.RatioP90)
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(w, "- scale: %d pods applied at once, all running after %.2f s\n", s.Pods, s.AllRunningSec)
	}
	if f := r.Footprint; f != nil {
		f.writeTable(w)
	}
	if c := r.Churn; c != nil {
		c.writeTable(w)
	}
	if b := r.Boot; b != nil {
		b.writeTable(w)
	}
	fmt.Fprintln(w, "\n| target | goal | value | status |\n|---|---|---|---|")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Goal, t.Value, t.Status)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nNote: %s", n)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n\nERRORS:\n- %s\n", strings.Join(r.Errors, "\n- "))
	}
	fmt.Fprintln(w)
}
