package app

import (
	"testing"

	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/secopts"
)

// TestSeccompRoot: Localhost profiles live below --root, which with the
// default root is the documented secopts.DefaultSeccompRoot.
func TestSeccompRoot(t *testing.T) {
	if got := seccompRoot(config.Defaults()); got != secopts.DefaultSeccompRoot {
		t.Errorf("default seccomp root %s, want %s", got, secopts.DefaultSeccompRoot)
	}
	cfg := config.Defaults()
	cfg.Root = "/srv/podrund"
	if got := seccompRoot(cfg); got != "/srv/podrund/seccomp" {
		t.Errorf("seccomp root with --root /srv/podrund: %s", got)
	}
}
