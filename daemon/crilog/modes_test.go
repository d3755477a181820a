package crilog

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLogFilesPrivate: logs are pod data; even under umask 0 no other
// local user may list their directories or read them, rotated files too.
func TestLogFilesPrivate(t *testing.T) {
	old := unix.Umask(0)
	defer unix.Umask(old)
	base := t.TempDir()
	path := filepath.Join(base, "logs", "ns_pod_uid", "app", "0.log")
	l, err := Open(path, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := l.Write("stdout", false, []byte("a line long enough to rotate the log\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) < 2 {
		t.Fatalf("no rotation happened: %v", files)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: mode %v (%v), want no access for others", f, fi.Mode(), err)
		}
	}
	for d := filepath.Dir(path); d != base; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s: mode %v (%v), want no access for others", d, fi.Mode(), err)
		}
	}
}
