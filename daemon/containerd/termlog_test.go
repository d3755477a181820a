package containerd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreateTerminationLog: the file is 0666 whatever the umask (so a
// non-root container can write it), an earlier message is emptied, and a
// symlink where the file or one of its directories should be is refused,
// never followed.
func TestCreateTerminationLog(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	root := t.TempDir()
	dir := filepath.Join(root, "pods", "uid", "containers", "app", "0")
	termLog := filepath.Join(dir, "termination-log")
	if err := createTerminationLog(root, dir, termLog); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(termLog)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o666 {
		t.Fatalf("termination-log %v %v, want a 0666 regular file", info, err)
	}
	if err := os.WriteFile(termLog, []byte("old message"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := createTerminationLog(root, dir, termLog); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(termLog); len(b) != 0 {
		t.Errorf("earlier message kept: %q", b)
	}

	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(termLog); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, termLog); err != nil {
		t.Fatal(err)
	}
	if err := createTerminationLog(root, dir, termLog); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("planted file symlink: err %v, want a symlink error", err)
	}
	linkedDir := filepath.Join(root, "pods", "uid", "containers", "evil")
	if err := os.Symlink(filepath.Dir(victim), linkedDir); err != nil {
		t.Fatal(err)
	}
	if err := createTerminationLog(root, filepath.Join(linkedDir, "0"), filepath.Join(linkedDir, "0", "termination-log")); err == nil {
		t.Errorf("directory symlink followed")
	}
	info, err = os.Stat(victim)
	if b, _ := os.ReadFile(victim); string(b) != "keep" || err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("victim changed: %q %v", b, info)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(victim), "0")); err == nil {
		t.Errorf("directory created through the symlink")
	}
}

// An instance removed after its pod's sandbox is gone takes the pod's
// directory with it; one removed while the pod still holds other files
// leaves the directory and those files alone.
func TestRemoveTerminationLogTakesEmptyParents(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sibling    string // a file the pod still holds, relative to its dir
		podDirGone bool
	}{
		{name: "last instance of a removed pod", podDirGone: true},
		{name: "pod still has a sandbox file", sibling: "hosts"},
		{name: "another container's log", sibling: "containers/other/0/termination-log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			podDir := filepath.Join(t.TempDir(), "pods", "uid")
			termLog := filepath.Join(podDir, "containers", "app", "0", "termination-log")
			for _, f := range []string{termLog, filepath.Join(podDir, tc.sibling)} {
				if f == podDir {
					continue
				}
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			removeTerminationLog(termLog)
			if _, err := os.Stat(filepath.Dir(termLog)); !os.IsNotExist(err) {
				t.Fatalf("attempt dir still there: %v", err)
			}
			_, err := os.Stat(podDir)
			if gone := os.IsNotExist(err); gone != tc.podDirGone {
				t.Fatalf("pod dir gone %v, want %v", gone, tc.podDirGone)
			}
			if tc.sibling != "" {
				if _, err := os.Stat(filepath.Join(podDir, tc.sibling)); err != nil {
					t.Fatalf("sibling %s: %v", tc.sibling, err)
				}
			}
			if _, err := os.Stat(filepath.Dir(podDir)); err != nil {
				t.Fatalf("pods/ must stay: %v", err)
			}
		})
	}
}
