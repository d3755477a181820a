package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/podrun/podrun/api"
	"go.uber.org/zap"
)

// routes is every path of docs/contract.md §3, plus podrun's operator paths,
// extensions beyond that contract (bodies in api/ops.go):
//
//	GET /api/v1/namespaces/{ns}/pods/{name}/blockers  what holds the pod back
//	    now, one line per blocker with the time it may change (describe's
//	    "Waiting for"); computed from the engine's state (supervisor.Blockers).
//	GET /api/v1/namespaces/{ns}/pods/{name}/timeline  every remembered
//	    container instance (the last 50) with created/started/ready/killed/
//	    finished times, exit codes and crash-loop back-off, plus the pod's
//	    Killing and BackOff events (podctl timeline).
//	GET /api/v1/namespaces/{ns}/pods/{name}/stats?window=500ms  CPU
//	    (cumulative and millicores over the window) and memory (working set
//	    and usage) of each running container from its cgroup (podctl top).
//	GET /debug/pprof/...  net/http/pprof, only with Options.Pprof.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.bounded, s.observe, s.recoverer, s.negotiate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, api.NewNotFound("path", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, api.NewMethodNotAllowed(fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)))
	})

	r.Get("/version", s.getVersion)
	r.Get("/healthz", s.getHealthz)
	r.Get("/readyz", s.getReadyz)
	r.Get("/metrics", s.getMetrics)

	r.Get("/api/v1/namespaces", s.listNamespaces)
	r.Get("/api/v1/namespaces/{ns}", s.getNamespace)
	r.Get("/api/v1/pods", s.listPods)
	r.Route("/api/v1/namespaces/{ns}/pods", func(r chi.Router) {
		r.Get("/", s.listPods)
		r.Post("/", s.createPod)
		r.Delete("/", s.deletePods)
		r.Get("/{name}", s.getPod)
		r.Get("/{name}/status", s.getPod)
		r.Put("/{name}", s.putPod)
		r.Patch("/{name}", s.patchPod)
		r.Delete("/{name}", s.deletePod)
		r.Get("/{name}/log", s.getLog)
		// kubectl's WebSocket upgrades are GETs, its SPDY fallback POSTs.
		for _, sub := range []struct {
			path string
			h    http.HandlerFunc
		}{{"/{name}/exec", s.exec}, {"/{name}/attach", s.attach}, {"/{name}/portforward", s.portForward}} {
			r.Get(sub.path, sub.h)
			r.Post(sub.path, sub.h)
		}
		r.Get("/{name}/blockers", s.getBlockers)
		r.Get("/{name}/timeline", s.getTimeline)
		r.Get("/{name}/stats", s.getStats)
	})

	for _, res := range s.resources() {
		res := res
		r.Get(res.prefix+"/"+res.plural, res.list)
		r.Route(res.prefix+"/namespaces/{ns}/"+res.plural, func(r chi.Router) {
			r.Get("/", res.list)
			r.Post("/", res.create)
			r.Delete("/", res.deleteCollection)
			r.Get("/{name}", res.get)
			r.Put("/{name}", res.put)
			r.Patch("/{name}", res.patch)
			r.Delete("/{name}", res.delete)
			if res.getSubStatus != nil {
				r.Get("/{name}/status", res.getSubStatus)
			}
		})
	}

	r.Get("/images", s.listImages)
	r.Delete("/images", s.removeImage)
	r.Post("/images/import", s.importImage)
	r.Post("/images/pull", s.pullImage)
	r.Post("/podrun/v1/kubeconfig", s.kubeconfig)
	if s.o.Pprof {
		mountPprof(r)
	}
	s.mountDiscovery(r)
	return r
}

// observe records each request's duration by route pattern and code.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		code := ww.Status()
		if code == 0 {
			code = http.StatusOK
		}
		s.rec.ObserveRequest(route, r.Method, code, time.Since(start))
		s.log.Debug("request", zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("code", code), zap.Duration("took", time.Since(start)))
	})
}

// recoverer turns a handler panic into a 500 Status instead of a dropped
// connection; podrund never dies of a bad request.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", zap.Any("panic", v), zap.String("path", r.URL.Path),
					zap.Stack("stack"))
				s.writeError(w, fmt.Errorf("internal error handling %s %s", r.Method, r.URL.Path))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
