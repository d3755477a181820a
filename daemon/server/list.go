package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/daemon/objects"
	"k8s.io/apimachinery/pkg/runtime"
)

// serveList answers a GET of a collection of bucket in the namespace of the
// route ("" = all): the objects load returns, in their public form, that
// the request's fieldSelector keeps, as the list newList builds; or, with
// ?watch=true, a watch stream that starts with them. A watch subscribes
// before load runs, so that no change between the two is lost.
func serveList[T runtime.Object](s *Server, w http.ResponseWriter, r *http.Request, bucket string,
	load func(ctx context.Context, ns string) ([]T, uint64, error),
	newList func(kept []T, rv string) runtime.Object) {
	ns := chi.URLParam(r, "ns")
	watch, err := queryBool(r, "watch")
	if err != nil {
		s.writeError(w, err)
		return
	}
	f, err := objects.NewFilter(bucket, ns, r.URL.Query().Get("fieldSelector"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	var sub *objects.Subscription
	if watch {
		release, err := s.watches.acquire()
		if err != nil {
			s.writeError(w, err)
			return
		}
		defer release()
		sub = s.obj.Watch(f)
	}
	objs, rv, err := load(r.Context(), ns)
	if err != nil {
		if sub != nil {
			s.obj.Unwatch(sub)
		}
		s.writeError(w, fmt.Errorf("list %s: %w", bucket, err))
		return
	}
	if watch {
		all := make([]runtime.Object, 0, len(objs))
		for _, o := range objs {
			all = append(all, o)
		}
		s.serveWatch(w, r, f, sub, all, rv)
		return
	}
	kept := make([]T, 0, len(objs))
	for _, o := range objs {
		if f.Matches(o) {
			kept = append(kept, o)
		}
	}
	s.writeJSON(w, http.StatusOK, newList(kept, fmt.Sprint(rv)))
}
