// Package manifests applies the files of podrund's manifest directory
// (config manifestDir): every *.yaml, *.yml and *.json in it, at start and
// whenever the directory changes, as a device that nobody logs into is
// set up (the kubelet's static pods, k3s's manifests directory). The
// objects go through the REST API's own handlers, carry the
// podrun.io/manifest-file annotation, and go again when their file or
// their document does. A file that cannot be used is reported (an event
// and a log line naming the file) and what it created before stays.
package manifests

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/podrun/podrun/daemon/dirwatch"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// Event reasons, on the involved object kind ManifestFile (namespace
// default, name the file's base name) or on the object itself.
const (
	ReasonApplied  = "ManifestApplied"
	ReasonFailed   = "ManifestFailed"
	ReasonConflict = "ManifestConflict"
	ReasonDeleted  = "ManifestDeleted"
	// FileKind is the involvedObject kind of events about a file.
	FileKind = "ManifestFile"
)

// Options configure a Manager. All are required but Logger.
type Options struct {
	Dir    string // absolute
	API    API
	Events dirwatch.EventRecorder
	Logger *zap.Logger
}

// Manager keeps the objects of a manifest directory applied.
type Manager struct {
	o   Options
	log *zap.Logger

	mu      sync.Mutex // one pass at a time
	applied map[string][sha256.Size]byte
}

// New makes a Manager; nothing is applied until Sync (daemon/app runs
// it at start and through dirwatch.RunPasses on every change).
func New(o Options) (*Manager, error) {
	if !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("manifest directory %q: must be an absolute path", o.Dir)
	}
	if o.API == nil || o.Events == nil {
		return nil, errors.New("manifests: an API and an event recorder are required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	o.Dir = filepath.Clean(o.Dir)
	return &Manager{o: o, log: o.Logger.With(zap.String("dir", o.Dir)), applied: map[string][sha256.Size]byte{}}, nil
}

// Sync makes one pass: reads every file, applies what changed, deletes
// what lost its file or document. Only a failure to read the directory or
// the store is an error; a bad file is reported and the pass goes on.
func (m *Manager) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	files, err := readDir(m.o.Dir)
	if err != nil {
		return err
	}
	owned, err := m.o.API.Owned(ctx, m.o.Dir)
	if err != nil {
		return err
	}
	p := plan(files, owned, m.applied)
	for _, f := range files {
		if f.Err != nil {
			m.fileEvent(ctx, f.Path, corev1.EventTypeWarning, ReasonFailed,
				fmt.Sprintf("%s: %v; the objects it created before are kept", f.Path, f.Err))
		}
	}
	for _, c := range p.Conflicts {
		m.fileEvent(ctx, c.Loser, corev1.EventTypeWarning, ReasonConflict,
			fmt.Sprintf("%s: %s is already defined by %s, which wins (the first in lexical order); this definition is ignored",
				c.Loser, c.Key, c.Winner))
	}
	results := m.applyAll(ctx, p)
	for _, o := range p.Delete {
		m.delete(ctx, o)
	}
	m.record(files, p, results)
	m.log.Info("manifest pass", zap.Int("files", len(files)), zap.Int("unchanged", len(p.Unchanged)),
		zap.Int("applied", len(p.Apply)), zap.Int("deleted", len(p.Delete)))
	return nil
}

// fileResult is what a pass did with one file's documents.
type fileResult struct {
	verbs  []string
	failed bool
}

func (m *Manager) applyAll(ctx context.Context, p Plan) map[string]*fileResult {
	results := map[string]*fileResult{}
	for _, d := range p.Apply {
		file := p.From[d.Key]
		r := results[file]
		if r == nil {
			r = &fileResult{}
			results[file] = r
		}
		verb, err := m.applyOne(ctx, file, d)
		if err != nil {
			r.failed = true
			m.log.Warn("manifest object refused", zap.String("file", file), zap.Stringer("object", d.Key), zap.Error(err))
			msg := fmt.Sprintf("%s: %s: %v", file, d.Key, err)
			if m.o.API.Exists(ctx, d.Key) {
				m.event(ctx, d.Key, corev1.EventTypeWarning, ReasonFailed, msg)
			} else {
				m.fileEvent(ctx, file, corev1.EventTypeWarning, ReasonFailed, msg)
			}
			continue
		}
		m.log.Info("manifest object applied", zap.String("file", file), zap.Stringer("object", d.Key), zap.String("result", verb))
		r.verbs = append(r.verbs, fmt.Sprintf("%s/%s %s", strings.ToLower(d.Key.Kind), d.Key.Name, verb))
	}
	return results
}

func (m *Manager) applyOne(ctx context.Context, file string, d Doc) (string, error) {
	obj := d.Obj.DeepCopyObject()
	if err := setOwner(obj, file); err != nil {
		return "", err
	}
	return m.o.API.Apply(ctx, d.Key, obj)
}

func (m *Manager) delete(ctx context.Context, o Owned) {
	if err := m.o.API.Delete(ctx, o.Key); err != nil {
		m.log.Warn("delete manifest object", zap.String("file", o.File), zap.Stringer("object", o.Key), zap.Error(err))
		m.fileEvent(ctx, o.File, corev1.EventTypeWarning, ReasonFailed, fmt.Sprintf("%s: delete %s: %v", o.File, o.Key, err))
		return
	}
	m.log.Info("manifest object deleted: its file or document is gone", zap.String("file", o.File), zap.Stringer("object", o.Key))
	m.fileEvent(ctx, o.File, corev1.EventTypeNormal, ReasonDeleted,
		fmt.Sprintf("deleted %s: it is no longer in %s", o.Key, o.File))
}

// record remembers the digest of each file applied in full, so that the
// next pass leaves it alone while it stays the same, and reports each.
func (m *Manager) record(files []File, p Plan, results map[string]*fileResult) {
	present := map[string]bool{}
	for _, f := range files {
		present[f.Path] = true
		r := results[f.Path]
		switch {
		case f.Err != nil:
			delete(m.applied, f.Path)
		case r == nil || !r.failed:
			m.applied[f.Path] = f.Sum
		default:
			delete(m.applied, f.Path) // tried again at the next pass
		}
		if r != nil && len(r.verbs) > 0 {
			m.fileEvent(context.Background(), f.Path, corev1.EventTypeNormal, ReasonApplied,
				fmt.Sprintf("applied %s: %s", f.Path, strings.Join(r.verbs, ", ")))
		}
	}
	for path := range m.applied {
		if !present[path] {
			delete(m.applied, path)
		}
	}
}

// fileEvent records an event about a file (and logs it when it warns).
func (m *Manager) fileEvent(ctx context.Context, file, typ, reason, msg string) {
	if typ == corev1.EventTypeWarning {
		m.log.Warn(msg, zap.String("file", file), zap.String("reason", reason))
	}
	m.event(ctx, Key{Kind: FileKind, Namespace: "default", Name: filepath.Base(file)}, typ, reason, msg)
}

func (m *Manager) event(ctx context.Context, about Key, typ, reason, msg string) {
	dirwatch.Record(ctx, m.o.Events, m.log, corev1.ObjectReference{Kind: about.Kind, Namespace: about.Namespace, Name: about.Name},
		typ, reason, msg)
}
