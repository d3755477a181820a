package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/daemon/objects"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// serveList answers a GET of a collection of bucket in the namespace of
// the route ("" = all): the objects load returns, in their public form,
// that the request's selectors keep, one page of them (limit/continue),
// as the list newList builds; or, with ?watch=true, a watch stream.
func serveList[T runtime.Object](s *Server, w http.ResponseWriter, r *http.Request, bucket string,
	load func(ctx context.Context, ns string) ([]T, uint64, error),
	newList func(kept []T, lm metav1.ListMeta) runtime.Object) {
	ns := chi.URLParam(r, "ns")
	req, err := objects.NewListRequest(bucket, ns, r.URL.Query())
	if err != nil {
		s.writeError(w, err)
		return
	}
	if req.Opts.Watch {
		serveWatchOf(s, w, r, req, load)
		return
	}
	objs, rv, err := load(r.Context(), ns)
	if err != nil {
		s.writeError(w, fmt.Errorf("list %s: %w", bucket, err))
		return
	}
	page, err := objects.SelectPage(s.obj, req, objs, rv)
	if err != nil {
		s.writeError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, newList(page.Items, page.Meta))
}

// serveWatchOf starts a watch: it subscribes before it lists (when the
// plan lists first), so that no change between the two is lost.
func serveWatchOf[T runtime.Object](s *Server, w http.ResponseWriter, r *http.Request, req *objects.ListRequest,
	load func(ctx context.Context, ns string) ([]T, uint64, error)) {
	plan, err := req.WatchPlan()
	if err != nil {
		s.writeError(w, err)
		return
	}
	release, err := s.watches.acquire()
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer release()
	sub, err := s.obj.Subscribe(req, plan)
	if err != nil {
		s.streamError(w, err)
		return
	}
	st := watchStart{plan: plan, from: plan.From}
	if plan.ListFirst {
		objs, rv, err := load(r.Context(), chi.URLParam(r, "ns"))
		if err != nil {
			s.obj.Unwatch(sub)
			s.writeError(w, fmt.Errorf("list %s: %w", req.Bucket(), err))
			return
		}
		for _, o := range objs {
			if req.Matches(o) {
				st.initial = append(st.initial, o)
			}
		}
		st.from = rv
	}
	s.serveWatch(w, r, req, sub, st)
}
