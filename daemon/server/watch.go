package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/store"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
)

// hub fans committed store changes out to watchers. Publishing never
// blocks: each watcher has a bounded queue and one that falls behind is
// dropped (its stream ends; the client re-lists), so a slow client can
// never stall the engine that is writing.
type hub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
	size int
	log  *zap.Logger
}

type subscription struct {
	match func(store.Change) bool
	ch    chan store.Change // closed when the subscription ends or is dropped
}

func newHub(size int, log *zap.Logger) *hub {
	return &hub{subs: map[*subscription]struct{}{}, size: size, log: log}
}

func (h *hub) subscribe(match func(store.Change) bool) *subscription {
	sub := &subscription{match: match, ch: make(chan store.Change, h.size)}
	h.mu.Lock()
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	return sub
}

func (h *hub) unsubscribe(sub *subscription) {
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

// serveWatch streams ADDED for every object of list (taken after
// subscribing, at store resourceVersion rv), then every later change, as
// newline-delimited watch events, until the client goes away, the daemon
// stops, or the watcher is dropped for falling behind.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, f watchFilter, sub *subscription,
	list []runtime.Object, rv uint64) {
	defer s.hub.unsubscribe(sub)
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush() // the client sees the stream open even before the first event
	}
	enc := json.NewEncoder(w)
	send := func(typ string, obj runtime.Object) bool {
		raw, err := json.Marshal(obj)
		if err != nil {
			s.log.Error("encode watch object", zap.Error(err))
			return false
		}
		if err := enc.Encode(api.WatchEvent{Type: typ, Object: raw}); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for _, obj := range list {
		if f.matches(obj) && !send(store.Added, obj) {
			return
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case c, ok := <-sub.ch:
			if !ok {
				return
			}
			if c.RV <= rv {
				continue // already part of the initial list
			}
			if !send(c.Type, c.Object) {
				return
			}
		}
	}
}

// startWatch subscribes for the filter; the caller lists after this so
// that no change between list and subscribe is lost.
func (s *Server) startWatch(f watchFilter) *subscription {
	return s.hub.subscribe(func(c store.Change) bool { return c.Bucket == f.bucket && f.matches(c.Object) })
}
