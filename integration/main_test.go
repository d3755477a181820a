// Package integration holds podrun's end-to-end tests: a private containerd,
// a real podrund built from this tree, podctl and the REST API, observed the
// way Kubernetes' node e2e tests observe the kubelet — containers append
// "<uptime> <name> <Starting|Started|Exiting>" lines to a shared hostPath
// file and the tests check the ORDER of those lines, not wall-clock speed.
// Rule numbers (R..) refer to docs/semantics.md.
package integration

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by every test of this binary: one containerd, one podrund;
// each test works in its own pod namespace (harness.NamespaceFor).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
