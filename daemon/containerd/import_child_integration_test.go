package containerd

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestImportInChild: with ImportBinary set the archive is imported by a
// child process (this test binary's TestMain plays podrund): the images
// keep their names and run; an archive that is not one is an invalid
// argument, with one "invalid argument" in its message.
func TestImportInChild(t *testing.T) {
	e := newTestEnvWith(t, func(o *Options) { o.ImportBinary = testExecutable(t) })
	e.importAndRun("import in child", "childimport:v1")
	if err := e.rt.RemoveImage(e.ctx, "childimport:v1"); err != nil {
		t.Fatal(err)
	}
	_, err := e.rt.ImportImage(e.ctx, strings.NewReader(strings.Repeat("not a tar archive\n", 100)))
	if !errdefs.IsInvalidArgument(err) || strings.Count(err.Error(), "invalid argument") != 1 {
		t.Fatalf("import of a non-archive in the child: %v; want one invalid argument", err)
	}
}
