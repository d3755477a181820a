// Package units checks the systemd units of systemd/ with systemd-analyze.
package units

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func readUnit(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnitsVerify runs systemd-analyze verify on copies of the units whose
// ExecStart points at a stand-in executable (verify insists that it exists;
// the real binary is installed by scripts/install-systemd.sh).
func TestUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze missing: install the systemd package (scripts/install-deps.sh)")
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "podrund")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	service := strings.ReplaceAll(readUnit(t, "podrund.service"), "/usr/local/bin/podrund", stand)
	for name, body := range map[string]string{"podrund.service": service, "podrund.socket": readUnit(t, "podrund.socket")} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", filepath.Join(dir, "podrund.socket"), filepath.Join(dir, "podrund.service"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "podrund") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitsSayWhatTheBriefSays pins the directives other parts rely on.
func TestUnitsSayWhatTheBriefSays(t *testing.T) {
	service := readUnit(t, "podrund.service")
	for _, want := range []string{"Type=notify", "NotifyAccess=main", "WatchdogSec=30", "Restart=always",
		"KillMode=process", "Delegate=yes", "After=containerd.service network-online.target",
		"Wants=containerd.service", "ExecStart=/usr/local/bin/podrund"} {
		if !strings.Contains(service, want) {
			t.Errorf("podrund.service lacks %q", want)
		}
	}
	socket := readUnit(t, "podrund.socket")
	for _, want := range []string{"ListenStream=/run/podrund/podrund.sock", "SocketMode=0660"} {
		if !strings.Contains(socket, want) {
			t.Errorf("podrund.socket lacks %q", want)
		}
	}
}
