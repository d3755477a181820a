// Package probes proves probes and lifecycle hooks (docs/semantics.md
// §G, §H, §I, §K) end to end: a private containerd, a real podrund built from
// this tree and podctl. Containers append "<uptime> <name> <what>" lines to a
// hostPath order file; tests check the ORDER of those lines, container
// statuses, events and exit codes — not wall-clock speed, except where a rule
// itself is a time bound (preStop cut at grace + 2 s, R54/R58).
package probes

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by every test and benchmark of this binary: one containerd,
// one podrund; each test works in its own pod namespace.
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
