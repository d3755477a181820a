package server

import (
	"net/http"
	"net/http/pprof"

	"github.com/go-chi/chi/v5"
)

// mountPprof serves net/http/pprof under /debug/pprof/ (podrund --pprof).
// It is opt-in because profiles expose the process's memory and a CPU
// profile costs CPU; the socket's 0660 mode already limits who may ask.
// The handlers are registered on the router rather than taken from
// http.DefaultServeMux so that nothing else registered there leaks in.
func mountPprof(r chi.Router) {
	r.Get("/debug/pprof", http.RedirectHandler("/debug/pprof/", http.StatusMovedPermanently).ServeHTTP)
	r.Route("/debug/pprof", func(r chi.Router) {
		r.Get("/", pprof.Index)
		r.Get("/cmdline", pprof.Cmdline)
		r.Get("/profile", pprof.Profile)
		r.Get("/symbol", pprof.Symbol)
		r.Post("/symbol", pprof.Symbol)
		r.Get("/trace", pprof.Trace)
		// heap, goroutine, allocs, block, mutex, threadcreate: Index
		// serves any named runtime/pprof profile from the path.
		r.Get("/{profile}", pprof.Index)
	})
}
