package server

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenUnderOpenUmask: even with umask 0 (a podrund started from a
// careless shell) the socket is 0660, never 0777.
func TestListenUnderOpenUmask(t *testing.T) {
	old := unix.Umask(0)
	defer unix.Umask(old)
	path := filepath.Join(t.TempDir(), "podrund.sock")
	ln, err := listenPrivate(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket born %o, want 600", perm)
	}
	if cur := unix.Umask(0); cur != 0 {
		t.Errorf("listenPrivate left umask %o", cur)
	}
}

func TestShareSocket(t *testing.T) {
	state := t.TempDir()
	if err := os.Chmod(state, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state, "podrund.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got, err := SocketPath(ln)
	if err != nil || got != path {
		t.Fatalf("SocketPath = %q, %v", got, err)
	}
	if err := ShareSocket(path, 4321, "/elsewhere", state); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil || st.Gid != 4321 || st.Uid != 0 || st.Mode&0o777 != 0o660 {
		t.Errorf("socket %d:%d %o (%v), want 0:4321 660", st.Uid, st.Gid, st.Mode&0o777, err)
	}
	if err := syscall.Stat(state, &st); err != nil || st.Gid != 4321 || st.Mode&0o777 != 0o710 {
		t.Errorf("socket directory gid %d mode %o (%v), want 4321 710", st.Gid, st.Mode&0o777, err)
	}
	// A directory that is not podrund's private one is left as it is.
	other := t.TempDir()
	p2 := filepath.Join(other, "s.sock")
	ln2, err := Listen(p2)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	before, _ := os.Stat(other)
	if err := ShareSocket(p2, 4321, state); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(other); after.Mode() != before.Mode() {
		t.Errorf("foreign socket directory changed %v -> %v", before.Mode(), after.Mode())
	}
	if err := ShareSocket(filepath.Join(other, "missing"), 4321); err == nil {
		t.Error("ShareSocket of a missing socket succeeded")
	}
}

func TestLookupGroup(t *testing.T) {
	if gid, err := LookupGroup("1234"); err != nil || gid != 1234 {
		t.Errorf("numeric: %d, %v", gid, err)
	}
	if gid, err := LookupGroup("root"); err != nil || gid != 0 {
		t.Errorf("root: %d, %v", gid, err)
	}
	if _, err := LookupGroup("no-such-group-podrun"); err == nil || !strings.Contains(err.Error(), "socketGroup") {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := LookupGroup("-5"); err == nil {
		t.Error("negative gid accepted")
	}
}
