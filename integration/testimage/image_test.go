package testimage_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podrun/podrun/integration/harness"
	"github.com/podrun/podrun/integration/testimage"
)

// readLayout returns the files of an image-layout tarball.
func readLayout(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	files, err := testimage.ReadLayout(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDeterministicAndNamed(t *testing.T) {
	var a, b bytes.Buffer
	if err := testimage.Write(&a, testimage.Busybox()); err != nil {
		t.Fatal(err)
	}
	if err := testimage.Write(&b, testimage.Busybox()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two builds of the same spec differ: digests would not be stable")
	}
	files := readLayout(t, a.Bytes())
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range idx.Manifests {
		got[m.Annotations["io.containerd.image.name"]] = m.Annotations[ocispec.AnnotationRefName]
		if _, ok := files["blobs/sha256/"+m.Digest.Encoded()]; !ok {
			t.Errorf("manifest blob %s missing", m.Digest)
		}
	}
	want := map[string]string{"docker.io/library/busybox:1.28": "1.28", "docker.io/library/busybox:latest": "latest"}
	for name, tag := range want {
		if got[name] != tag {
			t.Errorf("index names %v, want %s with ref.name %s", got, name, tag)
		}
	}
	if _, ok := files["oci-layout"]; !ok {
		t.Error("oci-layout file missing")
	}
}

// TestRunsInContainerd imports the tarball into a private containerd and
// runs applets from it: the image works with every applet on PATH, the
// accounts exist, and a variant's config is honoured.
func TestRunsInContainerd(t *testing.T) {
	ctx, base, c := harness.StartContainerdForTest(t, "podrun-img-")
	const ns = "imagetest"
	img := filepath.Join(base, "busybox.tar")
	if err := testimage.WriteFile(img, testimage.Busybox()); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(base, "user.tar")
	if err := testimage.WriteFile(user, testimage.WithUser("docker.io/library/busybox:user", "1000")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{img, user} {
		if out, err := c.Ctr(ctx, ns, "images", "import", f); err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
	}
	out, err := c.Ctr(ctx, ns, "images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"docker.io/library/busybox:1.28", "docker.io/library/busybox:latest", "docker.io/library/busybox:user"} {
		if !strings.Contains(out, want) {
			t.Errorf("images after import: %s; missing %s", out, want)
		}
	}
	run := func(id, ref string, args ...string) string {
		t.Helper()
		full := append([]string{"run", "--rm", ref, id}, args...)
		out, err := c.Ctr(ctx, ns, full...)
		if err != nil {
			t.Fatalf("ctr run %v: %v\n%s", args, err, out)
		}
		return out
	}
	if got := run("echo", "docker.io/library/busybox:1.28", "echo", "hello from busybox"); !strings.Contains(got, "hello from busybox") {
		t.Errorf("echo printed %q", got)
	}
	got := run("applets", "docker.io/library/busybox:1.28", "sh", "-c",
		"wget --help >/dev/null 2>&1; which httpd wget nc sleep ifconfig; stat -c %a /tmp; grep -c : /etc/passwd; echo $PATH")
	for _, want := range []string{"/httpd\n", "/wget\n", "/nc\n", "/sleep\n", "/ifconfig\n", "1777", "3", testimage.DefaultPath[5:]} {
		if !strings.Contains(got, want) {
			t.Errorf("applet check output %q lacks %q", got, want)
		}
	}
	if got := run("user", "docker.io/library/busybox:user", "id", "-u"); strings.TrimSpace(got) != "1000" {
		t.Errorf("image with User 1000 runs as %q", got)
	}
	if left, err := c.Leftovers(ctx, ns); err != nil || len(left) > 0 {
		t.Errorf("leftovers after ctr run --rm: %v %v", left, err)
	}
}
