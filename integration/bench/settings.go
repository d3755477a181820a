package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Settings are the knobs of one run. Defaults follow BENCHMARKS.md; Quick
// shrinks every count and window so a whole run takes about a minute.
type Settings struct {
	Quick          bool          `json:"quick"`
	Output         string        `json:"output"`         // JSON results file
	Phases         []string      `json:"phases"`         // which phases run, in this order
	StartPods      int           `json:"startPods"`      // pods started one after another, per network mode
	ReactionRuns   int           `json:"reactionRuns"`   // pods per reaction measurement
	FootprintPods  int           `json:"footprintPods"`  // running pods for the footprint
	IdleWindow     time.Duration `json:"idleWindow"`     // CPU window with FootprintPods pods
	EmptyWindow    time.Duration `json:"emptyWindow"`    // CPU window with no pods
	ScalePods      int           `json:"scalePods"`      // pods applied at once
	Lists          int           `json:"lists"`          // list calls timed with ScalePods pods
	ChurnCycles    int           `json:"churnCycles"`    // apply/delete cycles
	ChurnLanes     int           `json:"churnLanes"`     // cycles run in parallel
	ChurnWarmup    int           `json:"churnWarmup"`    // cycles before the baseline
	PhaseTimeout   time.Duration `json:"phaseTimeout"`   // per phase
	ReadyTimeout   time.Duration `json:"readyTimeout"`   // one pod to running
	CNIBinDir      string        `json:"cniBinDir"`      // CNI plugins for the bridge mode
	ProbePeriodSec int32         `json:"probePeriodSec"` // probes in the footprint's probe run
	LogLevel       string        `json:"logLevel"`       // podrund's --log-level
}

// AllPhases is the order of a full run.
var AllPhases = []string{"start", "start-cni", "reaction", "footprint", "scale", "churn", "boot"}

// DefaultSettings are BENCHMARKS.md's figures; quick ones are for a smoke run.
func DefaultSettings(quick bool) Settings {
	s := Settings{
		Output: "bench-results.json", Phases: AllPhases,
		StartPods: 30, ReactionRuns: 6, FootprintPods: 50, IdleWindow: 60 * time.Second,
		EmptyWindow: 5 * time.Second, ScalePods: 100, Lists: 50,
		ChurnCycles: 200, ChurnLanes: 4, ChurnWarmup: 8,
		PhaseTimeout: 8 * time.Minute, ReadyTimeout: 60 * time.Second,
		CNIBinDir: "/usr/lib/cni", ProbePeriodSec: 1, LogLevel: "info",
	}
	if quick {
		s.Quick = true
		s.StartPods, s.ReactionRuns, s.FootprintPods = 8, 3, 10
		s.IdleWindow, s.EmptyWindow = 5*time.Second, 3*time.Second
		s.ScalePods, s.Lists = 20, 20
		s.ChurnCycles, s.ChurnWarmup = 24, 4
	}
	return s
}

// SettingsFromEnv reads BENCH_QUICK, BENCH_OUT, BENCH_PHASES and the
// per-figure overrides BENCH_START_PODS, BENCH_FOOTPRINT_PODS,
// BENCH_IDLE_WINDOW (a Go duration), BENCH_SCALE_PODS, BENCH_CHURN_CYCLES,
// BENCH_REACTION_RUNS, BENCH_CNI_BIN_DIR, BENCH_LOG_LEVEL (podrund's, default info).
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := DefaultSettings(isTrue(getenv("BENCH_QUICK")))
	if v := getenv("BENCH_OUT"); v != "" {
		s.Output = v
	}
	if v := getenv("BENCH_PHASES"); v != "" {
		phases, err := parsePhases(v)
		if err != nil {
			return s, err
		}
		s.Phases = phases
	}
	switch v := getenv("BENCH_LOG_LEVEL"); v {
	case "":
	case "debug", "info", "warn", "error":
		s.LogLevel = v
	default:
		return s, fmt.Errorf("BENCH_LOG_LEVEL=%q: want debug, info, warn or error", v)
	}
	if v := getenv("BENCH_CNI_BIN_DIR"); v != "" {
		s.CNIBinDir = v
	}
	ints := map[string]*int{
		"BENCH_START_PODS": &s.StartPods, "BENCH_FOOTPRINT_PODS": &s.FootprintPods,
		"BENCH_SCALE_PODS": &s.ScalePods, "BENCH_CHURN_CYCLES": &s.ChurnCycles,
		"BENCH_REACTION_RUNS": &s.ReactionRuns,
	}
	for name, p := range ints {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return s, fmt.Errorf("%s=%q: want a positive integer", name, v)
			}
			*p = n
		}
	}
	if v := getenv("BENCH_IDLE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("BENCH_IDLE_WINDOW=%q: want a positive Go duration such as 60s", v)
		}
		s.IdleWindow = d
	}
	return s, nil
}

func parsePhases(v string) ([]string, error) {
	known := map[string]bool{}
	for _, p := range AllPhases {
		known[p] = true
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !known[p] {
			return nil, fmt.Errorf("BENCH_PHASES: unknown phase %q (known: %s)", p, strings.Join(AllPhases, ","))
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("BENCH_PHASES=%q names no phase", v)
	}
	return out, nil
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// enabled reports whether phase runs.
func (s Settings) enabled(phase string) bool {
	for _, p := range s.Phases {
		if p == phase {
			return true
		}
	}
	return false
}
