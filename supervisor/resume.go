package supervisor

import (
	"context"
	"errors"
	"fmt"
)

// Resume runs again the pods that Shutdown stopped, when the host shutdown
// was cancelled (logind's PrepareForShutdown(false)). Each such pod's engine
// has ended with its record saying Terminating: Shutdown; it is started anew
// from that record, exactly as adoption does when podrund starts after the
// host came back (the Shutdown mark is dropped and the containers run again
// by their restart policy). Pods still stopping are left alone. It returns
// how many pods were started again.
func (m *Manager) Resume(ctx context.Context) (int, error) {
	m.mu.Lock()
	var recs []*PodRecord
	for uid, w := range m.workers {
		if running(w) {
			continue
		}
		rec := w.snapshot()
		if t := rec.Engine.Terminating; t == nil || t.Reason != TermShutdown || rec.Pod.DeletionTimestamp != nil {
			continue
		}
		delete(m.workers, uid)
		recs = append(recs, copyRecord(rec))
	}
	m.mu.Unlock()
	// The boot-time listing is stale: adoption must see the runtime as it
	// is now.
	m.listMu.Lock()
	m.listed = nil
	m.listMu.Unlock()
	var errs []error
	n := 0
	for _, rec := range recs {
		if err := m.Start(ctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("resume pod %s/%s: %w", rec.Pod.Namespace, rec.Pod.Name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
