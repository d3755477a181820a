package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
)

// watchStart is where a watch stream begins: the initial objects (ADDED)
// and the resourceVersion after which changes are sent.
type watchStart struct {
	plan    objects.WatchPlan
	initial []runtime.Object
	from    uint64
}

// watchStream writes newline-delimited watch events.
type watchStream struct {
	s       *Server
	w       http.ResponseWriter
	enc     *json.Encoder
	flusher http.Flusher
	first   bool // no event sent yet
}

func (s *Server) openStream(w http.ResponseWriter) *watchStream {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush() // the client sees the stream open even before the first event
	}
	return &watchStream{s: s, w: w, enc: json.NewEncoder(w), flusher: flusher, first: true}
}

// send writes one event. The objects of ADDED, MODIFIED and DELETED are
// encoded as the request asks (a Table for kubectl get -w, whose columns
// come with the first event only); BOOKMARK and ERROR objects as they are.
func (ws *watchStream) send(typ string, obj any) bool {
	var raw []byte
	var err error
	if ro, ok := obj.(runtime.Object); ok && typ != objects.Bookmark && typ != "ERROR" {
		raw, _, err = ws.s.encodeFor(ws.w, ro, "application/json", true, ws.first)
		ws.first = false
	} else {
		raw, err = json.Marshal(obj)
	}
	if err != nil {
		ws.s.log.Error("encode watch object", zap.Error(err))
		return false
	}
	if err := ws.enc.Encode(api.WatchEvent{Type: typ, Object: raw}); err != nil {
		return false
	}
	if ws.flusher != nil {
		ws.flusher.Flush()
	}
	return true
}

// streamError answers a watch that cannot start (a resourceVersion older
// than the history) as the API server does: a stream with one ERROR event
// carrying the Status (410 Expired), which client-go turns into a re-list.
func (s *Server) streamError(w http.ResponseWriter, err error) {
	s.openStream(w).send("ERROR", api.AsStatusError(err).Status())
}

// serveWatch streams ADDED for every initial object, the initial-events
// BOOKMARK when asked for, then every change after st.from (and periodic
// BOOKMARKs with allowWatchBookmarks), until the client goes away, the
// daemon stops, timeoutSeconds pass or the watcher is dropped for falling
// behind.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req *objects.ListRequest,
	sub *objects.Subscription, st watchStart) {
	defer s.obj.Unwatch(sub)
	ctx := r.Context()
	if t := req.Opts.TimeoutSeconds; t != nil && *t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*t)*time.Second)
		defer cancel()
	}
	ws := s.openStream(w)
	for _, obj := range st.initial {
		if !ws.send(objects.Added, obj) {
			return
		}
	}
	last := st.from
	if st.plan.EndBookmark && !ws.send(objects.Bookmark, objects.BookmarkObject(req.Bucket(), last, true)) {
		return
	}
	var tick <-chan time.Time
	if st.plan.Bookmarks {
		t := time.NewTicker(s.obj.BookmarkInterval())
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			rv, ok := s.obj.Progress(sub)
			if ok && rv >= last {
				last = rv
				if !ws.send(objects.Bookmark, objects.BookmarkObject(req.Bucket(), rv, false)) {
					return
				}
			}
		case c, ok := <-sub.Changes():
			if !ok {
				return
			}
			if c.RV <= st.from {
				continue // already part of the initial list
			}
			last = max(last, c.RV)
			if !ws.send(c.Type, c.Object) {
				return
			}
		}
	}
}
