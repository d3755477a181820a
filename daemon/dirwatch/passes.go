package dirwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// RunPasses is Run for a directory that is synced by whole passes: pass
// runs after each quiet burst, and a failed pass is logged (the next
// change makes another).
func RunPasses(ctx context.Context, dir string, o Options, log *zap.Logger, pass func(ctx context.Context) error) error {
	if o.Logger == nil {
		o.Logger = log
	}
	return Run(ctx, dir, o, func(ctx context.Context) {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			log.Error("directory pass", zap.String("dir", dir), zap.Error(err))
		}
	})
}

// EventRecorder stores an event (daemon/objects.Objects).
type EventRecorder interface {
	RecordEvent(ctx context.Context, ev *corev1.Event) error
}

// Record records an event by podrund about ref, typically a file of the
// directory (kind ManifestFile or ImageArchive, namespace default, name
// the file's base name); a store that refuses it is only logged.
func Record(ctx context.Context, r EventRecorder, log *zap.Logger, ref corev1.ObjectReference, typ, reason, msg string) {
	ev := &corev1.Event{InvolvedObject: ref, Type: typ, Reason: reason, Message: msg,
		Source: corev1.EventSource{Component: "podrund"}}
	if err := r.RecordEvent(context.WithoutCancel(ctx), ev); err != nil {
		log.Warn("record event", zap.String("reason", reason), zap.Error(err))
	}
}

// List is the paths of dir's entries whose names are relevant, in lexical
// order: what a pass reads. A directory that does not exist is empty.
func List(dir string, relevant func(name string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries { // os.ReadDir sorts by name
		if relevant(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
