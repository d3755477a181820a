// Package bounds holds the end-to-end tests of podrund's resource bounds
// against a private containerd and a real podrund (integration/harness):
// a container that logs without newlines cannot grow podrund's memory,
// and watches, log follows and exec sessions are capped.
package bounds

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
