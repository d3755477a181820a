// Package ops holds the end-to-end tests of the operator views —
// describe's "Waiting for", podctl timeline and podctl top — against a
// private containerd and a real podrund (integration/harness). Terminal
// output is checked as a person sees it: podctl runs in a tmux pane and the
// test compares the pane's screen.
package ops

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
