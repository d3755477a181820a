package safeopen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// tree makes root/{a/b/file, a/link -> b, a/out -> /, file} and returns root.
func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "a", "b", "file"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "file"), []byte("y"), 0o644))
	must(t, os.Symlink("b", filepath.Join(root, "a", "link")))
	must(t, os.Symlink("/", filepath.Join(root, "a", "out")))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openRoot(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := OpenDir(dir)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestOpenRefusesSymlinksAndDotDot(t *testing.T) {
	root := openRoot(t, tree(t))
	for _, rel := range []string{"a/link", "a/link/file", "a/out", "a/out/etc", "../x", "a/../file", "/etc"} {
		f, err := Open(root, rel)
		if err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded, want an error", rel)
			continue
		}
		if strings.Contains(rel, "link") || strings.Contains(rel, "out") {
			if !strings.Contains(err.Error(), "symlink") {
				t.Errorf("Open(%q) = %v, want the error to name the symlink", rel, err)
			}
		}
	}
}

func TestOpenFileAndDir(t *testing.T) {
	dir := tree(t)
	root := openRoot(t, dir)
	for rel, wantDir := range map[string]bool{"": true, ".": true, "a": true, "a/b": true, "a/b/file": false, "file": false, "a//b/./file": false} {
		f, err := Open(root, rel)
		if err != nil {
			t.Fatalf("Open(%q): %v", rel, err)
		}
		st, err := Stat(f)
		f.Close()
		must(t, err)
		if IsDir(st) != wantDir {
			t.Errorf("Open(%q): directory = %v, want %v", rel, IsDir(st), wantDir)
		}
	}
	if _, err := Open(root, "a/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want not-exist", err)
	}
}

func TestMkdirAllCreatesBeneathWithMode(t *testing.T) {
	dir := tree(t)
	root := openRoot(t, dir)
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	f, err := MkdirAll(root, "a/b/new/deeper", 0o777)
	must(t, err)
	f.Close()
	for _, p := range []string{"a/b/new", "a/b/new/deeper"} {
		info, err := os.Lstat(filepath.Join(dir, p))
		must(t, err)
		if !info.IsDir() || info.Mode().Perm() != 0o777 {
			t.Errorf("%s: mode %v, want a 0777 directory (umask not applied)", p, info.Mode())
		}
	}
	if info, _ := os.Lstat(filepath.Join(dir, "a", "b")); info.Mode().Perm() != 0o755 {
		t.Errorf("existing a/b changed mode to %v", info.Mode())
	}
	// Existing directory: opened, not an error.
	f, err = MkdirAll(root, "a/b", 0o700)
	must(t, err)
	f.Close()
}

func TestMkdirAllRefusesSymlinksAndFiles(t *testing.T) {
	dir := tree(t)
	root := openRoot(t, dir)
	for _, rel := range []string{"a/link/new", "a/out/tmp/podrun-escape", "file/new", "a/b/file", "../new", "a/../new"} {
		f, err := MkdirAll(root, rel, 0o755)
		if err == nil {
			f.Close()
			t.Errorf("MkdirAll(%q) succeeded, want an error", rel)
		}
	}
	if _, err := os.Lstat("/tmp/podrun-escape"); err == nil {
		os.Remove("/tmp/podrun-escape")
		t.Fatal("MkdirAll created a directory through the symlink to /")
	}
	if _, err := os.Lstat(filepath.Join(dir, "a", "b", "new")); err == nil {
		t.Error("MkdirAll through a/link created a/b/new")
	}
}

func TestCreateFile(t *testing.T) {
	dir := tree(t)
	root := openRoot(t, dir)
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	f, err := CreateFile(root, "a/b/log", 0o666, true)
	must(t, err)
	_, _ = f.WriteString("hello")
	f.Close()
	info, err := os.Lstat(filepath.Join(dir, "a", "b", "log"))
	must(t, err)
	if info.Mode().Perm() != 0o666 {
		t.Errorf("mode %v, want 0666 despite the umask", info.Mode())
	}
	f, err = CreateFile(root, "a/b/log", 0o666, true)
	must(t, err)
	f.Close()
	if data, _ := os.ReadFile(filepath.Join(dir, "a", "b", "log")); len(data) != 0 {
		t.Errorf("truncate left %q", data)
	}
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "a", "b", "planted")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "a", "b", "fifo"), 0o644))
	for _, rel := range []string{"a/b/planted", "a/link/log", "a/out/etc/podrun-x", "a/b", "a/b/fifo"} {
		f, err := CreateFile(root, rel, 0o666, true)
		if err == nil {
			f.Close()
			t.Errorf("CreateFile(%q) succeeded, want an error", rel)
		}
	}
}

func TestBindByDescriptor(t *testing.T) {
	dir := tree(t)
	root := openRoot(t, dir)
	staging := t.TempDir()
	for _, tc := range []struct{ rel, target string }{{"a/b", "d/0"}, {"a/b/file", "d/1"}} {
		f, err := Open(root, tc.rel)
		must(t, err)
		target := filepath.Join(staging, tc.target)
		must(t, Bind(f, target))
		// Binding the same file again keeps the one mount.
		must(t, Bind(f, target))
		f.Close()
		n := countMounts(t, target)
		if n != 1 {
			t.Errorf("%s: %d mounts after binding twice, want 1", tc.target, n)
		}
		var a, b unix.Stat_t
		must(t, unix.Stat(target, &a))
		must(t, unix.Stat(filepath.Join(dir, tc.rel), &b))
		if a.Ino != b.Ino || a.Dev != b.Dev {
			t.Errorf("%s does not show %s", tc.target, tc.rel)
		}
	}
	// A different file replaces the stale bind.
	f, err := Open(root, "file")
	must(t, err)
	target := filepath.Join(staging, "d", "1")
	must(t, Bind(f, target))
	f.Close()
	if data, _ := os.ReadFile(target); string(data) != "y" || countMounts(t, target) != 1 {
		t.Errorf("rebind: read %q with %d mounts, want y with 1", data, countMounts(t, target))
	}
	for _, p := range []string{"d/0", "d/1"} {
		must(t, Unbind(filepath.Join(staging, p)))
		if _, err := os.Lstat(filepath.Join(staging, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after Unbind: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "b", "file")); err != nil {
		t.Errorf("Unbind touched the bound directory: %v", err)
	}
	must(t, Unbind(filepath.Join(staging, "never")))
}

func countMounts(t *testing.T, target string) int {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(target))
	must(t, err)
	return len(ms)
}
