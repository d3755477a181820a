package imagedir

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
)

// fakeImages reads each import to its end as a tar, as containerd's
// importer does, and names the image after the tar's first member.
type fakeImages struct {
	imports int
	images  map[string]string // ref → id
}

func (f *fakeImages) ImportImage(_ context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	f.imports++
	tr := tar.NewReader(rd)
	var first string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if first == "" {
			first = h.Name
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return nil, err
		}
	}
	ref, id := "example.com/"+first+":1", "sha256:"+first
	f.images[ref] = id
	return []supervisor.ImageStatus{{Present: true, Ref: ref, ID: id}}, nil
}

func (f *fakeImages) ImageStatus(_ context.Context, ref string) (supervisor.ImageStatus, error) {
	id, ok := f.images[ref]
	return supervisor.ImageStatus{Present: ok, Ref: ref, ID: id}, nil
}

type eventLog []*corev1.Event

func (l *eventLog) RecordEvent(_ context.Context, ev *corev1.Event) error {
	*l = append(*l, ev)
	return nil
}

func (l eventLog) reasons() []string {
	var out []string
	for _, e := range l {
		out = append(out, e.Reason)
	}
	return out
}

func tarOf(t *testing.T, name string, size int64) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeros{}, size); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func setup(t *testing.T) (*Manager, *fakeImages, *eventLog, string) {
	root := t.TempDir()
	dir := filepath.Join(root, "images")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	imgs, evs := &fakeImages{images: map[string]string{}}, &eventLog{}
	m, err := New(Options{Dir: dir, Record: filepath.Join(root, "imagedir.json"), Images: imgs, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	return m, imgs, evs, dir
}

func pass(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSkipsWhatWasImported(t *testing.T) {
	m, imgs, evs, dir := setup(t)
	path := filepath.Join(dir, "app.tar")
	if err := os.WriteFile(path, tarOf(t, "app", 100), 0o644); err != nil {
		t.Fatal(err)
	}
	pass(t, m)
	pass(t, m)
	if imgs.imports != 1 {
		t.Fatalf("imports after two passes over one archive: %d", imgs.imports)
	}
	// A new podrund (a reboot) reads the record and imports nothing.
	m2, err := New(m.o)
	if err != nil {
		t.Fatal(err)
	}
	pass(t, m2)
	// Touched only: hashed, found the same.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	pass(t, m2)
	if imgs.imports != 1 {
		t.Fatalf("imports after a restart and a touch: %d (events %v)", imgs.imports, evs.reasons())
	}
	// The image was removed from the runtime: imported again.
	imgs.images = map[string]string{}
	pass(t, m2)
	// Rewritten: imported again.
	if err := os.WriteFile(path, tarOf(t, "app", 200), 0o644); err != nil {
		t.Fatal(err)
	}
	pass(t, m2)
	if imgs.imports != 3 {
		t.Fatalf("imports after a removed image and a rewrite: %d", imgs.imports)
	}
	st, err := os.Stat(m.o.Record)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", st, err)
	}
}

func TestCompressedArchives(t *testing.T) {
	m, imgs, evs, dir := setup(t)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(tarOf(t, "gz", 1000))
	_ = zw.Close()
	enc, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = enc.Write(tarOf(t, "zst", 1000))
	_ = enc.Close()
	for name, b := range map[string][]byte{"a.tar.gz": gz.Bytes(), "b.tar.zst": zs.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pass(t, m)
	for _, ref := range []string{"example.com/gz:1", "example.com/zst:1"} {
		if _, ok := imgs.images[ref]; !ok {
			t.Errorf("%s not imported (events %v)", ref, evs.reasons())
		}
	}
}

// TestBombIsRefused: a gzip archive that expands a thousandfold stops at
// the bound, with an event naming the file; the import saw no more.
func TestBombIsRefused(t *testing.T) {
	m, imgs, evs, dir := setup(t)
	path := filepath.Join(dir, "bomb.tar.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	const huge = 100 << 20 // past the bound: its 64 MiB floor
	_ = tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: huge, Typeflag: tar.TypeReg})
	_, _ = io.CopyN(tw, zeros{}, huge)
	_ = tw.Close()
	_ = zw.Close()
	_ = f.Close()
	pass(t, m)
	if len(imgs.images) != 0 {
		t.Fatalf("a bomb was imported: %v", imgs.images)
	}
	last := (*evs)[len(*evs)-1]
	if last.Reason != ReasonFailed || !strings.Contains(last.Message, path) || !strings.Contains(last.Message, ErrTooLarge.Error()) {
		t.Fatalf("last event %s %q", last.Reason, last.Message)
	}
	if rec := m.rec.m[path]; rec.Refused == "" || len(rec.Images) > 0 {
		t.Fatalf("the refusal was not recorded: %+v", rec)
	}
	// Unchanged, the bomb is not read again; touched, it is.
	pass(t, m)
	if last := (*evs)[len(*evs)-1]; imgs.imports != 1 || !strings.Contains(last.Message, "not read again") {
		t.Fatalf("a refused, unchanged archive was read again: %d imports, last event %q", imgs.imports, last.Message)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	pass(t, m)
	if imgs.imports != 2 {
		t.Fatalf("a touched refused archive was not tried again: %d imports", imgs.imports)
	}
}
