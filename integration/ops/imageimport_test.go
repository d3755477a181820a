package ops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageImportBadArchive: podrund imports archives in a child process;
// an archive that is not one comes back as a clear error naming the
// import, and a good archive still imports (the harness imports the test
// images the same way before every test).
func TestImageImportBadArchive(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	bad := filepath.Join(t.TempDir(), "garbage.tar")
	if err := os.WriteFile(bad, []byte(strings.Repeat("not a tar archive\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := c.Podctl("image", "import", bad)
	t.Logf("exit %d stdout %q stderr %q", code, out, errOut)
	if code == 0 || !strings.Contains(errOut, "import image") {
		t.Errorf("import of a non-archive: exit %d, stderr %q; want an error naming the import", code, errOut)
	}
	if !strings.HasPrefix(errOut, "Error from server (BadRequest): ") {
		t.Errorf("import of a non-archive: stderr %q, want a BadRequest: the archive is at fault, not podrund", errOut)
	}
	if out := c.MustPodctl("get", "images"); !strings.Contains(out, "busybox") {
		t.Errorf("images after a failed import:\n%s", out)
	}
}
