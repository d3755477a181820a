package objects

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/podrun/podrun/daemon/store"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Change is one committed store write, as watchers see it.
type Change = store.Change

// The kinds (store buckets) a list or watch names, and the watch event
// types.
const (
	BucketPods       = store.BucketPods
	BucketConfigMaps = store.BucketConfigMaps
	BucketSecrets    = store.BucketSecrets
	BucketEvents     = store.BucketEvents
	BucketJobs       = store.BucketJobs
	Added            = store.Added
	Modified         = store.Modified
	Deleted          = store.Deleted
)

// hub fans committed store changes out to watchers and remembers the last
// changes (a ring, the API server's watch cache window) so that a watch
// can start at a resourceVersion the client already has. Publishing never
// blocks: each watcher has a bounded queue and one that falls behind is
// dropped (its stream ends; the client re-lists), so a slow client can
// never stall the engine that is writing.
type hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	size int
	log  *zap.Logger

	// history holds the last changes in commit order, at most cap(history);
	// every change with RV > floor is in it.
	history []store.Change
	floor   uint64
	latest  uint64 // the newest RV published (or the store's at start)
	// newest is, per object, its newest change in history: a MODIFIED
	// change's Prev is decoded afresh from the store, a second copy of
	// the state the object's previous change already holds; remember
	// shares that one instead, which halves what history holds for
	// objects that change often (a running 3-container pod: ~8 KiB a copy).
	newest map[historyKey]store.Change
}

// historyKey names one object in history.
type historyKey struct{ bucket, namespace, name string }

// Subscription is one watcher's queue of changes.
type Subscription struct {
	f  Filter
	ch chan store.Change // closed when the subscription ends or is dropped
}

// Changes delivers the watched changes in commit order, already seen
// through the watcher's selectors (an object that stops matching comes as
// DELETED); it is closed when the watcher is dropped for falling behind or
// unsubscribed.
func (s *Subscription) Changes() <-chan Change { return s.ch }

func newHub(size, history int, rv uint64, log *zap.Logger) *hub {
	if log == nil {
		log = zap.NewNop()
	}
	return &hub{subs: map[*Subscription]struct{}{}, size: size, log: log,
		history: make([]store.Change, 0, history), floor: rv, latest: rv,
		newest: map[historyKey]store.Change{}}
}

// subscribe starts a watcher. With replay, the remembered changes after
// from are queued first; a from older than the history is the API
// server's 410 Expired `too old resource version`.
func (h *hub) subscribe(f Filter, from uint64, replay bool) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if replay && from < h.floor {
		return nil, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", from, h.floor+1))
	}
	var backlog []store.Change
	if replay {
		for _, c := range h.history {
			if ev, ok := f.see(c); ok && c.RV > from {
				backlog = append(backlog, ev)
			}
		}
	}
	sub := &Subscription{f: f, ch: make(chan store.Change, h.size+len(backlog))}
	for _, c := range backlog {
		sub.ch <- c
	}
	h.subs[sub] = struct{}{}
	return sub, nil
}

func (h *hub) unsubscribe(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// publish is the store's Notifier: called in commit order.
func (h *hub) publish(c store.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c = h.remember(c)
	for sub := range h.subs {
		ev, ok := sub.f.see(c)
		if !ok {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			h.log.Warn("dropping a watcher that fell behind", zap.String("resource", c.Bucket))
			delete(h.subs, sub)
			close(sub.ch)
		}
	}
}

// remember keeps c in history and returns it as kept (its Prev shared
// with the object's previous change when that is the same state).
func (h *hub) remember(c store.Change) store.Change {
	if c.RV > h.latest {
		h.latest = c.RV
	}
	if cap(h.history) == 0 {
		h.floor = h.latest
		return c
	}
	if len(h.history) == cap(h.history) {
		oldest := h.history[0]
		h.floor = oldest.RV
		copy(h.history, h.history[1:])
		h.history = h.history[:len(h.history)-1]
		if k, ok := keyOf(oldest); ok && h.newest[k].RV == oldest.RV {
			delete(h.newest, k)
		}
	}
	if k, ok := keyOf(c); ok {
		if prev, found := h.newest[k]; found && c.Prev != nil && sameVersion(c.Prev, prev.RV) {
			c.Prev = prev.Object
		}
		h.newest[k] = c
	}
	h.history = append(h.history, c)
	return c
}

func keyOf(c store.Change) (historyKey, bool) {
	m, err := meta.Accessor(c.Object)
	if err != nil {
		return historyKey{}, false
	}
	return historyKey{c.Bucket, m.GetNamespace(), m.GetName()}, true
}

// sameVersion reports whether obj carries resourceVersion rv.
func sameVersion(obj runtime.Object, rv uint64) bool {
	m, err := meta.Accessor(obj)
	return err == nil && m.GetResourceVersion() == strconv.FormatUint(rv, 10)
}

// progress is the resourceVersion a BOOKMARK may carry for sub: the newest
// published one, once every change queued for sub has been taken. ok is
// false while some are still queued (or sub has ended).
func (h *hub) progress(sub *Subscription) (uint64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, live := h.subs[sub]; !live || len(sub.ch) > 0 {
		return 0, false
	}
	return h.latest, true
}

// oldest is the oldest resourceVersion the history can still continue
// from.
func (h *hub) oldest() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.floor
}

// see is a change as this watcher sees it through its selectors, as the
// API server's watch cache does: an object that starts matching is ADDED,
// one that stops matching is DELETED (its last matching state, at the
// change's resourceVersion).
func (f Filter) see(c store.Change) (store.Change, bool) {
	if c.Bucket != f.bucket {
		return c, false
	}
	now := f.Matches(c.Object)
	before := now
	if c.Prev != nil {
		before = f.Matches(c.Prev)
	}
	switch {
	case c.Type != Modified:
		return c, now
	case now && before:
		return c, true
	case now:
		c.Type = Added
		return c, true
	case before:
		c.Type, c.Object = Deleted, withRV(c.Prev, c.Object)
		return c, true
	}
	return c, false
}

// withRV is a copy of obj carrying the resourceVersion of at.
func withRV(obj, at runtime.Object) runtime.Object {
	c := obj.DeepCopyObject()
	m, err := meta.Accessor(c)
	if err != nil {
		return c
	}
	if am, err := meta.Accessor(at); err == nil {
		m.SetResourceVersion(am.GetResourceVersion())
	}
	return c
}

// Watch subscribes for the filter, for the live changes only; the caller
// lists after this so that no change between list and subscribe is lost.
func (b *Objects) Watch(f Filter) *Subscription {
	sub, _ := b.hub.subscribe(f, 0, false)
	return sub
}

// WatchFrom subscribes for the filter starting after resourceVersion
// from: the remembered changes since are delivered first. A version the
// history no longer covers is a 410 Expired, one the store has not
// reached a 504 Too large resource version.
func (b *Objects) WatchFrom(f Filter, from uint64) (*Subscription, error) {
	cur, err := b.st.ResourceVersion()
	if err != nil {
		return nil, err
	}
	if from > cur {
		return nil, errTooLarge(from, cur)
	}
	return b.hub.subscribe(f, from, true)
}

// Progress is the resourceVersion a BOOKMARK for sub may carry now (see
// hub.progress).
func (b *Objects) Progress(sub *Subscription) (uint64, bool) { return b.hub.progress(sub) }

// Unwatch ends a subscription.
func (b *Objects) Unwatch(sub *Subscription) { b.hub.unsubscribe(sub) }
