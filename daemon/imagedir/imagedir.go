// Package imagedir imports the image archives of podrund's image
// directory (config imageDir): OCI layouts and docker archives, plain or
// compressed with gzip or zstd, at start before the manifests are applied
// and again when the directory changes, for devices without a registry
// (k3s's air-gap images directory). An archive imported before is
// skipped without being read: a record under --root remembers each
// archive's size, mtime, inode and digest, and the images it held.
package imagedir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/podrun/podrun/daemon/dirwatch"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// Event reasons, on the involved object kind ImageArchive (namespace
// default, name the archive's base name).
const (
	ReasonImported  = "ImageArchiveImported"
	ReasonUnchanged = "ImageArchiveUnchanged"
	ReasonFailed    = "ImageArchiveFailed"
	ArchiveKind     = "ImageArchive"
)

// Images is the image side of the runtime (daemon/containerd).
type Images interface {
	ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error)
	ImageStatus(ctx context.Context, ref string) (supervisor.ImageStatus, error)
}

// Options configure a Manager; all but Logger are required.
type Options struct {
	Dir    string // absolute
	Record string // the record file, under --root
	Images Images
	Events dirwatch.EventRecorder
	Logger *zap.Logger
}

// Manager keeps the image directory imported.
type Manager struct {
	o   Options
	log *zap.Logger
	mu  sync.Mutex // one pass at a time
	rec *records
}

// New loads the record; nothing is imported until Sync (daemon/app runs
// it at start and through dirwatch.RunPasses on every change).
func New(o Options) (*Manager, error) {
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("image directory %q: must be an absolute path", o.Dir)
	}
	if o.Images == nil || o.Events == nil || o.Record == "" {
		return nil, errors.New("imagedir: images, events and a record path are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	rec, err := loadRecords(o.Record)
	if err != nil {
		return nil, err
	}
	return &Manager{o: o, log: o.Logger.With(zap.String("dir", o.Dir)), rec: rec}, nil
}

// IsArchiveName reports whether a directory entry is an image archive:
// .tar, .tar.gz, .tgz, .tar.zst, and not a hidden or temporary file.
func IsArchiveName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd"} {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return true
		}
	}
	return false
}

// Sync imports every archive that is new or changed. A bad archive is
// reported and the others go on; only an unreadable directory or record
// is an error. Archives that leave the directory leave their images:
// pods may run them.
func (m *Manager) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	paths, err := dirwatch.List(m.o.Dir, IsArchiveName)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, path := range paths {
		present[path] = true
		m.syncArchive(ctx, path)
	}
	for path := range m.rec.m {
		if !present[path] {
			delete(m.rec.m, path)
		}
	}
	return m.rec.save()
}

func (m *Manager) syncArchive(ctx context.Context, path string) {
	log := m.log.With(zap.String("archive", path))
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return // gone since the listing, or not a file
	}
	key := keyOf(st)
	prev, seen := m.rec.m[path]
	if seen && prev.Refused != "" && prev.Key == key {
		log.Warn("image archive refused before and unchanged; skipped", zap.String("refusal", prev.Refused))
		m.event(ctx, path, corev1.EventTypeWarning, ReasonFailed,
			fmt.Sprintf("%s: %s (unchanged since; not read again)", path, prev.Refused))
		return
	}
	if seen && prev.Refused == "" && m.present(ctx, prev.Images) {
		why := ""
		switch {
		case prev.Key == key:
			why = "size, mtime and inode as imported"
		case prev.Key.Size == key.Size && prev.Key.Inode == key.Inode && m.digest(path) == prev.SHA256:
			// Touched, not rewritten: the content is the same.
			prev.Key = key
			m.rec.m[path] = prev
			why = "content as imported"
		}
		if why != "" {
			log.Info("image archive unchanged; skipped", zap.String("because", why))
			m.event(ctx, path, corev1.EventTypeNormal, ReasonUnchanged,
				fmt.Sprintf("%s: %s; not imported again", path, why))
			return
		}
	}
	log.Info("importing image archive", zap.Int64("bytes", st.Size()))
	m.event(ctx, path, corev1.EventTypeNormal, "ImageArchiveImporting", fmt.Sprintf("importing %s (%d bytes)", path, st.Size()))
	got, err := m.importArchive(ctx, path, st.Size())
	if err != nil {
		delete(m.rec.m, path)
		if errors.Is(err, ErrTooLarge) || errdefs.IsInvalidArgument(err) {
			// The archive's own fault, not the host's: remembered.
			m.rec.m[path] = imported{Key: key, Refused: err.Error()}
		}
		log.Warn("image archive refused", zap.Error(err))
		m.event(ctx, path, corev1.EventTypeWarning, ReasonFailed, fmt.Sprintf("%s: %v", path, err))
		return
	}
	got.Key = key
	m.rec.m[path] = got
	refs := make([]string, len(got.Images))
	for i, img := range got.Images {
		refs[i] = img.Ref
	}
	log.Info("image archive imported", zap.Strings("images", refs))
	m.event(ctx, path, corev1.EventTypeNormal, ReasonImported, fmt.Sprintf("imported %s: %s", path, strings.Join(refs, ", ")))
}

// importArchive streams the archive through its decompressor into the
// runtime's import, hashing the file as it goes.
func (m *Manager) importArchive(ctx context.Context, path string, size int64) (imported, error) {
	f, err := openRegular(path)
	if err != nil {
		return imported{}, err
	}
	defer f.Close()
	h := sha256.New()
	tee := io.TeeReader(f, h)
	tr, kind, closeDec, err := decompressed(tee, size)
	if err != nil {
		return imported{}, err
	}
	defer closeDec()
	st, err := m.o.Images.ImportImage(ctx, tr)
	if tooLarge(tr) {
		return imported{}, fmt.Errorf("%w: more than %d times its size (at least %d MiB) once decompressed; not imported",
			ErrTooLarge, maxExpansionRatio, minExpansionBytes>>20)
	}
	if err != nil {
		return imported{}, fmt.Errorf("import %s archive: %w", kind, err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // the digest covers the whole file
		return imported{}, err
	}
	out := imported{SHA256: hex.EncodeToString(h.Sum(nil))}
	for _, s := range st {
		out.Images = append(out.Images, image{Ref: s.Ref, ID: s.ID})
	}
	return out, nil
}

// present reports whether every image of an archive is still in the
// runtime with the same ID (nobody removed or re-tagged it).
func (m *Manager) present(ctx context.Context, imgs []image) bool {
	for _, img := range imgs {
		st, err := m.o.Images.ImageStatus(ctx, img.Ref)
		if err != nil || !st.Present || st.ID != img.ID {
			return false
		}
	}
	return len(imgs) > 0
}

func (m *Manager) digest(path string) string {
	f, err := openRegular(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (m *Manager) event(ctx context.Context, path, typ, reason, msg string) {
	dirwatch.Record(ctx, m.o.Events, m.log, corev1.ObjectReference{Kind: ArchiveKind, Namespace: "default", Name: filepath.Base(path)},
		typ, reason, msg)
}

// openRegular opens path for reading only if it is a regular file; with
// O_NONBLOCK so that a FIFO put in its place cannot hang the pass.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}
