package app

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrivateDirAtEveryStart: an existing root or state directory left
// open (by an older podrund, by hand) is closed again at start.
func TestPrivateDirAtEveryStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if err := privateDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("new dir %v, want 0700", fi.Mode())
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 0, 4321); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("existing dir %v, want 0700", fi.Mode())
	}
}
