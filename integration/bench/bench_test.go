package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// BenchmarkPodrun runs the whole benchmark once (root needed):
//
//	sudo go test ./integration/bench -run '^$' -bench Podrun -benchtime 1x -timeout 30m
//
// Plain go test never runs it (benchmarks only run with -bench), so the
// normal suite runs only this package's unit tests. One call is one whole
// run whatever b.N is: the figures are distributions over many pods
// inside the run, not per-iteration times. BENCH_QUICK=1 makes it a smoke
// run; BENCH_OUT names the JSON file (default bench-results.json in the
// repository root). It fails when a phase failed, never because a target
// was missed: targets are reported, and the key figures are also reported
// as benchmark metrics.
func BenchmarkPodrun(b *testing.B) {
	s, err := SettingsFromEnv(os.Getenv)
	if err != nil {
		b.Fatal(err)
	}
	if !filepath.IsAbs(s.Output) {
		root, err := harness.ModuleRoot()
		if err != nil {
			b.Fatal(err)
		}
		s.Output = filepath.Join(root, s.Output)
	}
	if b.N > 1 {
		b.Logf("b.N = %d: the suite still runs once per call (use -benchtime 1x)", b.N)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	res, err := Run(ctx, s, os.Stdout)
	b.StopTimer()
	res.WriteTables(os.Stdout)
	if werr := res.WriteJSON(s.Output); werr != nil {
		b.Error(werr)
	} else {
		b.Logf("results written to %s", s.Output)
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range res.Errors {
		b.Errorf("benchmark error: %s", e)
	}
	// ns/op would be the whole run's wall time divided by b.N: meaningless.
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(res.Seconds, "run-s")
	for _, m := range res.Metrics() {
		b.ReportMetric(m.Value, m.Unit)
	}
}
