package containerd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/podrun/podrun/integration/testimage"
)

// TestImportInChild: with ImportBinary set the archive is imported by a
// child process (this test binary's TestMain plays podrund): the images
// keep their names and run; an archive that is not one is an invalid
// argument, with one "invalid argument" in its message.
func TestImportInChild(t *testing.T) {
	e := newTestEnvWith(t, func(o *Options) { o.ImportBinary = testExecutable(t) })
	archive := dockerArchive(t, testimage.Variant("docker.io/library/unused:x"), "childimport:v1")
	got, err := e.rt.ImportImage(e.ctx, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Ref != "docker.io/library/childimport:v1" || !got[0].Present || !strings.HasPrefix(got[0].ID, "sha256:") {
		t.Fatalf("import in child = %+v, want docker.io/library/childimport:v1 present", got)
	}
	c := busybox("child", "echo", "imported-by-a-child")
	c.Image = "childimport:v1"
	e.runPrints("run of the child-imported image", e.pod(c), "imported-by-a-child")
	if err := e.rt.RemoveImage(e.ctx, "childimport:v1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.rt.ImportImage(e.ctx, strings.NewReader(strings.Repeat("not a tar archive\n", 100)))
	if !errdefs.IsInvalidArgument(err) || strings.Count(err.Error(), "invalid argument") != 1 {
		t.Fatalf("import of a non-archive in the child: %v; want one invalid argument", err)
	}
}
