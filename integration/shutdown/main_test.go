// Package shutdown proves podrund's graceful node shutdown end to end:
// a real dbus-daemon as the system bus, a stand-in for logind's
// org.freedesktop.login1 on it (this machine runs no systemd as PID 1, and
// the real systemd-logind cannot run a shutdown here: see logind_test.go),
// the real podrund and a real containerd through integration/harness.
package shutdown

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
