// Package robust proves end to end that podrund survives its own
// restarts (SIGKILL, SIGTERM), containerd outages and a simulated host
// reboot; a corrupt store; systemd activation and notification; /metrics;
// bounded parallelism of pod starts. Every test runs the real podrund and a
// real containerd through integration/harness and asserts behaviour (rule
// numbers refer to docs/semantics.md), never wall-clock speed.
package robust

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by the tests of this binary: one containerd and the shared
// podrund (tests that kill or restart things use private ones).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
