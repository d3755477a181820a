package objects

import (
	"sync"

	"github.com/podrun/podrun/daemon/store"
	"go.uber.org/zap"
)

// Change is one committed store write, as watchers see it.
type Change = store.Change

// The kinds (store buckets) a list or watch names, and the watch event
// type of an object that is already there when a watch starts.
const (
	BucketPods       = store.BucketPods
	BucketConfigMaps = store.BucketConfigMaps
	BucketSecrets    = store.BucketSecrets
	BucketEvents     = store.BucketEvents
	BucketJobs       = store.BucketJobs
	Added            = store.Added
)

// hub fans committed store changes out to watchers. Publishing never
// blocks: each watcher has a bounded queue and one that falls behind is
// dropped (its stream ends; the client re-lists), so a slow client can
// never stall the engine that is writing.
type hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	size int
	log  *zap.Logger
}

// Subscription is one watcher's queue of changes.
type Subscription struct {
	match func(store.Change) bool
	ch    chan store.Change // closed when the subscription ends or is dropped
}

// Changes delivers the watched changes in commit order; it is closed when
// the watcher is dropped for falling behind or unsubscribed.
func (s *Subscription) Changes() <-chan Change { return s.ch }

func newHub(size int, log *zap.Logger) *hub {
	if log == nil {
		log = zap.NewNop()
	}
	return &hub{subs: map[*Subscription]struct{}{}, size: size, log: log}
}

func (h *hub) subscribe(match func(store.Change) bool) *Subscription {
	sub := &Subscription{match: match, ch: make(chan store.Change, h.size)}
	h.mu.Lock()
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	return sub
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
	for sub := range h.subs {
		if !sub.match(c) {
			continue
		}
		select {
		case sub.ch <- c:
		default:
			h.log.Warn("dropping a watcher that fell behind", zap.String("resource", c.Bucket))
			delete(h.subs, sub)
			close(sub.ch)
		}
	}
}

// Watch subscribes for the filter; the caller lists after this so that
// no change between list and subscribe is lost.
func (b *Objects) Watch(f Filter) *Subscription {
	return b.hub.subscribe(func(c store.Change) bool { return c.Bucket == f.bucket && f.Matches(c.Object) })
}

// Unwatch ends a subscription.
func (b *Objects) Unwatch(sub *Subscription) { b.hub.unsubscribe(sub) }
