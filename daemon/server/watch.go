package server

import (
	"encoding/json"
	"net/http"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
)

// serveWatch streams ADDED for every object of list (taken after
// subscribing, at store resourceVersion rv), then every later change, as
// newline-delimited watch events, until the client goes away, the daemon
// stops, or the watcher is dropped for falling behind.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, f objects.Filter, sub *objects.Subscription,
	list []runtime.Object, rv uint64) {
	defer s.obj.Unwatch(sub)
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush() // the client sees the stream open even before the first event
	}
	enc := json.NewEncoder(w)
	first := true
	send := func(typ string, obj runtime.Object) bool {
		// A Table watch (kubectl get -w) sends the columns with the first event only.
		raw, _, err := s.encodeFor(w, obj, "application/json", true, first)
		first = false
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
		if f.Matches(obj) && !send(objects.Added, obj) {
			return
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case c, ok := <-sub.Changes():
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
