// Package jobs holds the end-to-end tests of batch/v1 Jobs run by
// a real podrund on a private containerd, observed through podctl and the
// REST API. Rule numbers refer to docs/semantics.md (§L, §V).
//
// Containers that matter for ordering append "<uptime> <pod> <event>" lines
// to a hostPath file shared by all pods of a test; the tests check the order
// and overlap of those lines, never wall-clock speed.
package jobs

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by the tests of this binary: one containerd, one podrund;
// each test works in its own namespace (harness.NamespaceFor).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
