package fake

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
)

// subscriber is one open watch.
type subscriber struct {
	res  client.Resource
	ns   string // "" = every namespace
	name string // "" = every object
	ch   chan api.WatchEvent
	once sync.Once
}

func (sub *subscriber) close() { sub.once.Do(func() { close(sub.ch) }) }

func (sub *subscriber) matches(res client.Resource, o Object) bool {
	ns, name := nsName(o)
	return res == sub.res && (sub.ns == "" || sub.ns == ns) && (sub.name == "" || sub.name == name)
}

// publish sends an event to every matching watch; s.mu is held. A watch
// too slow to keep up is closed, as a real server drops it.
func (s *Server) publish(res client.Resource, typ string, o Object) {
	b, _ := json.Marshal(o)
	for sub := range s.subs {
		if !sub.matches(res, o) {
			continue
		}
		select {
		case sub.ch <- api.WatchEvent{Type: typ, Object: b}:
		default:
			sub.close()
			delete(s.subs, sub)
		}
	}
}

func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, res client.Resource, ns string) {
	sub := &subscriber{res: res, ns: ns, ch: make(chan api.WatchEvent, 1024)}
	if sel := r.URL.Query().Get("fieldSelector"); sel != "" {
		name, ok := strings.CutPrefix(sel, "metadata.name=")
		if !ok {
			writeStatus(w, 400, "BadRequest", "unsupported fieldSelector %q", sel)
			return
		}
		sub.name = name
	}
	// Subscribe and queue ADDED for what exists under one lock, so no
	// change falls between the two.
	s.mu.Lock()
	for _, o := range s.objs[res] {
		if sub.matches(res, o) {
			b, _ := json.Marshal(o)
			sub.ch <- api.WatchEvent{Type: client.Added, Object: b}
		}
	}
	s.subs[sub] = struct{}{}
	s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-sub.ch:
			if !ok {
				return
			}
			if err := enc.Encode(ev); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}
