package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAtomicWriterRefusesSymlinks: the writer opens the volume directory
// and its own entries without following symlinks: a volume directory that
// is a symlink, or a ..data pointing anywhere but to one of its own payload
// directories, is an error and nothing is written through it.
func TestAtomicWriterRefusesSymlinks(t *testing.T) {
	base := t.TempDir()
	elsewhere := t.TempDir()
	payload := map[string]file{"k": {Data: []byte("v"), Mode: 0o644}, "d/k2": {Data: []byte("w"), Mode: 0o400}}

	linked := filepath.Join(base, "linked")
	if err := os.Symlink(elsewhere, linked); err != nil {
		t.Fatal(err)
	}
	if _, err := writePayload(linked, payload, nil); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("volume directory that is a symlink: err %v, want a symlink error", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("writer wrote through the symlinked volume directory: %v", entries)
	}

	vol := filepath.Join(base, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../"+filepath.Base(elsewhere), filepath.Join(vol, dataDirName)); err != nil {
		t.Fatal(err)
	}
	if _, err := writePayload(vol, payload, nil); err == nil || !strings.Contains(err.Error(), "not a payload directory") {
		t.Errorf("..data pointing out of the volume: err %v", err)
	}
	if err := os.Remove(filepath.Join(vol, dataDirName)); err != nil {
		t.Fatal(err)
	}

	// A payload directory entry replaced by a symlink is never read through:
	// the payload counts as changed and is written anew.
	if changed, err := writePayload(vol, payload, nil); err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	ts, err := os.Readlink(filepath.Join(vol, dataDirName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(elsewhere, "k"), []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(vol, ts, "k")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "k"), filepath.Join(vol, ts, "k")); err != nil {
		t.Fatal(err)
	}
	if changed, err := writePayload(vol, payload, nil); err != nil || !changed {
		t.Fatalf("payload with a symlinked file counted as unchanged: %v %v", changed, err)
	}
	for p, f := range payload {
		info, err := os.Lstat(filepath.Join(vol, dataDirName, p))
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != f.Mode {
			t.Errorf("%s: %v %v, want a regular file of mode %v", p, info, err, f.Mode)
		}
	}
}
