package containerd

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podrun/podrun/integration/testimage"
)

func TestImportKeepsArchiveNames(t *testing.T) {
	e := newTestEnv(t)
	imgs, err := e.rt.ListImages(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, img := range imgs {
		names[img.Ref] = true
		if !img.Present || !strings.HasPrefix(img.ID, "sha256:") || img.Size <= 0 {
			t.Errorf("image %+v: want present, a sha256 config digest and a size", img)
		}
	}
	for _, want := range []string{"docker.io/library/busybox:1.28", "docker.io/library/busybox:latest", argsImage, stopSigImage} {
		if !names[want] {
			t.Errorf("imported OCI layout name %s missing from %v", want, names)
		}
	}
	st, err := e.rt.ImageStatus(e.ctx, "busybox:1.28")
	if err != nil || !st.Present || st.Ref != "docker.io/library/busybox:1.28" {
		t.Fatalf("ImageStatus(busybox:1.28) = %+v, %v", st, err)
	}

	// docker-archive (docker save): RepoTags are normalised, not prefixed.
	e.importAndRun("docker-archive import", "dockersave:v1")
	if err := e.rt.RemoveImage(e.ctx, "dockersave:v1"); err != nil {
		t.Fatal(err)
	}
	if st, err := e.rt.ImageStatus(e.ctx, "dockersave:v1"); err != nil || st.Present {
		t.Fatalf("after RemoveImage: %+v, %v; want not present", st, err)
	}
	if err := e.rt.RemoveImage(e.ctx, "dockersave:v1"); !errdefs.IsNotFound(err) {
		t.Fatalf("removing a missing image: %v, want a NotFound error (the server's 404)", err)
	}
	if _, err := e.rt.ImageStatus(e.ctx, "Not/A:Valid:Ref"); err == nil {
		t.Fatal("invalid image name accepted")
	}
}

// importAndRun imports a docker-save archive of a busybox variant tagged
// repoTag (NAME:TAG, as docker save writes a Docker Hub image), wants
// exactly that image back under its normalised name (docker.io/library/
// prefixed), present, with a config digest, and runs a container of it
// by repoTag; what names the import in messages.
func (e *testEnv) importAndRun(what, repoTag string) {
	e.t.Helper()
	archive := dockerArchive(e.t, testimage.Variant("docker.io/library/unused:x"), repoTag)
	got, err := e.rt.ImportImage(e.ctx, bytes.NewReader(archive))
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
	ref := "docker.io/library/" + repoTag
	if len(got) != 1 || got[0].Ref != ref || !got[0].Present || !strings.HasPrefix(got[0].ID, "sha256:") {
		e.t.Fatalf("%s = %+v, want %s present", what, got, ref)
	}
	c := busybox("imported", "echo", "from-"+repoTag)
	c.Image = repoTag
	e.runPrints("run of the image of the "+what, e.pod(c), "from-"+repoTag)
}

// layoutFiles writes the OCI layout of spec and returns its files by
// name in the archive.
func layoutFiles(t *testing.T, spec testimage.Spec) map[string][]byte {
	t.Helper()
	var layout bytes.Buffer
	if err := testimage.Write(&layout, spec); err != nil {
		t.Fatal(err)
	}
	files, err := testimage.ReadLayout(&layout)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// dockerArchive converts an OCI layout of spec into a docker-save tarball
// whose manifest.json names the image repoTag.
func dockerArchive(t *testing.T, spec testimage.Spec, repoTag string) []byte {
	t.Helper()
	files := layoutFiles(t, spec)
	blob := func(d ocispec.Descriptor) string { return "blobs/sha256/" + d.Digest.Encoded() }
	var idx ocispec.Index
	var mf ocispec.Manifest
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(files[blob(idx.Manifests[0])], &mf); err != nil {
		t.Fatal(err)
	}
	// docker save writes uncompressed layers as <id>/layer.tar.
	zr, err := gzip.NewReader(bytes.NewReader(files[blob(mf.Layers[0])]))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	layerPath := mf.Layers[0].Digest.Encoded() + "/layer.tar"
	cfgPath := mf.Config.Digest.Encoded() + ".json"
	manifest, _ := json.Marshal([]map[string]any{{
		"Config": cfgPath, "RepoTags": []string{repoTag}, "Layers": []string{layerPath},
	}})
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {cfgPath, files[blob(mf.Config)]}, {layerPath, layer}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	return out.Bytes()
}
