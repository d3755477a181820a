package containerd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEmbedContainerd: an explicit setting wins; unset, podrund starts its
// own containerd only for the default address on a host where no systemd
// service starts one.
func TestEmbedContainerd(t *testing.T) {
	yes, no := true, false
	run := t.TempDir()
	units := t.TempDir()
	defer func(r string, u []string) { systemdRuntimeDir, systemdUnitDirs = r, u }(systemdRuntimeDir, systemdUnitDirs)
	systemdUnitDirs = []string{units}
	const def = "/run/containerd/containerd.sock"
	check := func(name string, setting *bool, addr string, want bool) {
		t.Helper()
		if got, why := EmbedContainerd(setting, addr, def); got != want {
			t.Errorf("%s: EmbedContainerd = %v (%s), want %v", name, got, why, want)
		}
	}

	systemdRuntimeDir = filepath.Join(run, "absent")
	check("no systemd, default address", nil, def, true)
	check("no systemd, explicit address", nil, "/tmp/other.sock", false)
	check("no systemd, set false", &no, def, false)

	systemdRuntimeDir = run
	check("systemd without a containerd unit", nil, def, true)
	if err := os.WriteFile(filepath.Join(units, "containerd.service"), []byte("[Unit]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("systemd with containerd.service", nil, def, false)
	check("systemd with containerd.service, set true", &yes, def, true)
	check("set true, explicit address", &yes, "/tmp/other.sock", true)
}
