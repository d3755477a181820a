// Package device holds the end-to-end tests of a device set up from
// files: podrund's manifest directory (manifestDir) and image directory
// (imageDir), each on a podrund of the test's own over the harness's
// containerd, observed through podctl, events and podrund's log.
package device

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
