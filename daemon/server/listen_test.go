package server

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenModeStaleAndLiveSockets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "podrund.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v, %v; want 0660 socket", fi.Mode(), err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// A second podrund must not steal a socket that answers.
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another podrund") {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	// A killed podrund leaves its socket file: it is replaced.
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	ln2, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	_ = ln2.Close()
	// A regular file at the path is not ours to remove.
	file := filepath.Join(t.TempDir(), "not-a-socket")
	_ = os.WriteFile(file, []byte("x"), 0o600)
	if _, err := Listen(file); err == nil {
		t.Fatal("Listen removed a regular file")
	}
}
