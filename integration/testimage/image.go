// Package testimage builds the images podrun's tests run: OCI image-layout
// tarballs made from Debian's busybox-static (every applet, named
// busybox:1.28 and busybox:latest as the seed examples expect) and variants
// (another tag, a STOPSIGNAL, a non-root user, an image without a shell).
// The output is deterministic: fixed timestamps and sorted entries give the
// same digests on every run.
package testimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// epoch is the timestamp of every file and of the image itself.
var epoch = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultBusybox is where Debian's busybox-static puts the binary.
const DefaultBusybox = "/bin/busybox"

// DefaultPath is the PATH of every test image (the Docker default).
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// File is an extra file copied from the host into the image.
type File struct {
	Source string // host path
	Target string // path in the image
	Mode   int64
}

// Spec describes one image.
type Spec struct {
	// Names are full references, e.g. docker.io/library/busybox:1.28.
	Names []string
	// Busybox is the host path of a static busybox; empty = no busybox, no shell.
	Busybox    string
	Files      []File
	Entrypoint []string
	Cmd        []string
	User       string
	StopSignal string
	Env        []string // added after PATH
}

// Busybox is the standard test image: busybox:1.28 and busybox:latest.
func Busybox() Spec {
	return Spec{
		Names:   []string{"docker.io/library/busybox:1.28", "docker.io/library/busybox:latest"},
		Busybox: DefaultBusybox,
		Cmd:     []string{"sh"},
	}
}

// Variant is Busybox with other names (e.g. docker.io/library/busybox:other).
func Variant(names ...string) Spec {
	s := Busybox()
	s.Names = names
	return s
}

// WithStopSignal is a busybox image whose config says STOPSIGNAL sig (e.g. SIGUSR1).
func WithStopSignal(name, sig string) Spec {
	s := Variant(name)
	s.StopSignal = sig
	return s
}

// WithUser is a busybox image whose config runs as user (e.g. "1000").
func WithUser(name, user string) Spec {
	s := Variant(name)
	s.User = user
	return s
}

// WithFile is a busybox image with one more executable host file at target.
func WithFile(name, source, target string) Spec {
	s := Variant(name)
	s.Files = []File{{Source: source, Target: target, Mode: 0o755}}
	return s
}

// NoShell is an image holding one static binary as its entrypoint and no /bin/sh.
func NoShell(name, binary string) Spec {
	return Spec{
		Names:      []string{name},
		Files:      []File{{Source: binary, Target: "/server", Mode: 0o755}},
		Entrypoint: []string{"/server"},
	}
}

// WriteFile writes the image-layout tarball of spec to path.
func WriteFile(path string, spec Spec) error {
	var buf bytes.Buffer
	if err := Write(&buf, spec); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write image %s: %w", path, err)
	}
	return nil
}

// ReadLayout returns the files of an image-layout tarball (as Write makes
// it) by their names in the archive, for tests that look inside.
func ReadLayout(r io.Reader) (map[string][]byte, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read image layout: %w", err)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("read image layout: %s: %w", h.Name, err)
		}
	}
}

// Write writes spec as an OCI image-layout tarball (oci-layout, index.json,
// blobs/sha256/...) whose index names every entry of spec.Names.
func Write(w io.Writer, spec Spec) error {
	if len(spec.Names) == 0 {
		return fmt.Errorf("image spec has no names")
	}
	tree := newTree()
	tree.addBase()
	if spec.Busybox != "" {
		if err := tree.addBusybox(spec.Busybox); err != nil {
			return err
		}
	}
	for _, f := range spec.Files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return fmt.Errorf("read image file %s: %w", f.Source, err)
		}
		tree.file(f.Target, f.Mode, data)
	}
	l, err := tree.write()
	if err != nil {
		return fmt.Errorf("build layer: %w", err)
	}
	blobs := map[string][]byte{}
	add := func(b []byte) ocispec.Descriptor {
		d := digestOf(b)
		blobs[d] = b
		return ocispec.Descriptor{Digest: digest.Digest(d), Size: int64(len(b))}
	}
	cfg, err := json.Marshal(imageConfig(spec, l.diffID))
	if err != nil {
		return err
	}
	cfgDesc := add(cfg)
	cfgDesc.MediaType = ocispec.MediaTypeImageConfig
	layerDesc := add(l.gz)
	layerDesc.MediaType = ocispec.MediaTypeImageLayerGzip
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	})
	if err != nil {
		return err
	}
	mDesc := add(manifest)
	mDesc.MediaType = ocispec.MediaTypeImageManifest
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, name := range spec.Names {
		d := mDesc
		d.Platform = &ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
		d.Annotations = map[string]string{
			"io.containerd.image.name": name,
			ocispec.AnnotationRefName:  tagOf(name),
		}
		index.Manifests = append(index.Manifests, d)
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	return writeLayout(w, blobs, indexJSON)
}

func imageConfig(spec Spec, diffID string) ocispec.Image {
	created := epoch
	return ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config: ocispec.ImageConfig{
			Env:        append([]string{DefaultPath}, spec.Env...),
			Entrypoint: spec.Entrypoint,
			Cmd:        spec.Cmd,
			User:       spec.User,
			StopSignal: spec.StopSignal,
		},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.Digest(diffID)}},
		History: []ocispec.History{{Created: &created, CreatedBy: "podrun integration/testimage"}},
	}
}

// tagOf returns the tag of a reference ("latest" when it has none).
func tagOf(name string) string {
	last := name[strings.LastIndex(name, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	return "latest"
}

func writeLayout(w io.Writer, blobs map[string][]byte, index []byte) error {
	tw := tar.NewWriter(w)
	put := func(name string, data []byte, mode int64) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	digests := make([]string, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, d := range digests {
		if err := put("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), blobs[d], 0o644); err != nil {
			return err
		}
	}
	if err := put(ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	if err := put("index.json", index, 0o644); err != nil {
		return err
	}
	return tw.Close()
}
