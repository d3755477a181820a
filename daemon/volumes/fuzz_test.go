package volumes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPayloadPath checks validatePayloadPath, the atomic writer's only
// guard on item paths (a ConfigMap key path or a downwardAPI item path
// come from the pod spec, and adopted pods may predate today's
// validation). A path it accepts must stay inside the volume and under
// the top-level link the writer makes for it, never be one of the writer's
// own "..*" names, and writing it must make the file readable at
// <vol>/<path> with nothing created beside the volume.
func FuzzPayloadPath(f *testing.F) {
	for _, p := range []string{"key", "a/b/c", "..data/x", "..data", "../x", "/etc/passwd", "a/../b",
		"a/../..data", "./a", "a//b", "a/", ".", "...", "x/..data", "a\x00b", ""} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if validatePayloadPath(p) != nil {
			return
		}
		clean := filepath.Clean(p)
		if clean == "." || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			t.Fatalf("accepted %q escapes the volume (clean %q)", p, clean)
		}
		top := strings.SplitN(p, "/", 2)[0]
		if strings.HasPrefix(top, "..") {
			t.Fatalf("accepted %q starts with a writer-reserved name", p)
		}
		if cleanTop := strings.SplitN(clean, "/", 2)[0]; cleanTop != top {
			t.Fatalf("accepted %q is written under %q but linked as %q", p, cleanTop, top)
		}
		if strings.ContainsRune(p, 0) {
			t.Fatalf("accepted %q holds a NUL", p)
		}
		root := t.TempDir()
		vol := filepath.Join(root, "vol")
		data := []byte("payload of " + p)
		if _, err := writePayload(vol, map[string]file{p: {Data: data, Mode: 0o644}}, nil); err != nil {
			// An accepted path may still fail on the file system (a name
			// too long); it must not have created anything outside vol.
			checkOnlyVol(t, root)
			return
		}
		got, err := os.ReadFile(filepath.Join(vol, p))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("accepted %q: read back %q, %v", p, got, err)
		}
		checkOnlyVol(t, root)
	})
}

func checkOnlyVol(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "vol" {
			t.Fatalf("writer created %q beside the volume", e.Name())
		}
	}
}
