// Package sandbox proves the pod sandbox end to end: a private
// containerd, real podrund processes built from this tree and podctl. Every
// check is made from inside the containers — what the process sees through
// `podctl exec` or its logs: ids, capabilities, cgroup files, mounts, files,
// env, hostname, network — and after deletion the host is checked for
// leftovers (netns bind mounts, mounts, cgroups, veths, processes).
// Rule numbers (R..) refer to docs/semantics.md.
package sandbox

import (
	"os"
	"testing"

	"github.com/podrun/podrun/integration/harness"
)

// env is shared by every test: one containerd and one podrund whose config
// holds a policy at level privileged with hostPaths below the test base dir
// only. Tests that need another policy start a daemon of their own
// (openDaemon).
var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, &env))
}
