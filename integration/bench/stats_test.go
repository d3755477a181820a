package bench

import (
	"testing"
	"time"
)

func TestSummarizeNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 30; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(ds)
	want := Dist{N: 30, Min: 1, Median: 15, P90: 27, P99: 30, Max: 30, Mean: 15.5}
	if got != want {
		t.Fatalf("Summarize(1..30 ms) = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Dist{}) {
		t.Fatalf("Summarize(nil) = %+v, want zero", got)
	}
	one := Summarize([]time.Duration{1500 * time.Microsecond})
	if one.Median != 1.5 || one.P99 != 1.5 || one.N != 1 {
		t.Fatalf("single sample: %+v", one)
	}
}

func TestRatio(t *testing.T) {
	if r := ratio(115, 100); r != 1.15 {
		t.Fatalf("ratio(115,100) = %v", r)
	}
	if r := ratio(1, 0); r != 0 {
		t.Fatalf("ratio(1,0) = %v, want 0", r)
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{"BENCH_QUICK": "1", "BENCH_PHASES": "start, churn", "BENCH_START_PODS": "7",
		"BENCH_IDLE_WINDOW": "5s", "BENCH_OUT": "/tmp/x.json"}
	s, err := SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !s.Quick || s.StartPods != 7 || s.IdleWindow != 5*time.Second || s.Output != "/tmp/x.json" ||
		len(s.Phases) != 2 || !s.enabled("churn") || s.enabled("scale") {
		t.Fatalf("settings: %+v", s)
	}
	for k, v := range map[string]string{"BENCH_PHASES": "start,bogus", "BENCH_START_PODS": "0", "BENCH_IDLE_WINDOW": "x"} {
		_, err := SettingsFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
	d, _ := SettingsFromEnv(func(string) string { return "" })
	if d.StartPods != 30 || d.IdleWindow != time.Minute || d.ScalePods != 100 || d.ChurnCycles != 200 || d.Output != "bench-results.json" {
		t.Fatalf("defaults differ from BENCHMARKS.md: %+v", d)
	}
}
