package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/podrun/podrun/api"
)

// Limits bound what clients can hold open at once and how long an
// ordinary request may take. Each long-lived session holds goroutines and
// buffers for as long as its client stays, so without a cap one local
// client could open them until podrund runs out of memory.
type Limits struct {
	// Watches, LogFollows and ExecSessions cap the concurrent watch
	// streams, followed logs and exec sessions; one more gets 429
	// TooManyRequests with a Retry-After, and a slot is free again as soon
	// as its session ends (client gone, stream over, daemon stopping).
	Watches      int
	LogFollows   int
	ExecSessions int
	// RequestTimeout bounds every request that is not a long-lived
	// session: its context ends and its connection's read and write
	// deadlines fall then, so a client that dribbles a body or stops
	// reading the answer is dropped (the API server's default is 60 s).
	RequestTimeout time.Duration
	// ReadHeaderTimeout drops a connection whose request header has not
	// arrived in time (a slowloris client holding it open).
	ReadHeaderTimeout time.Duration
}

// Default limits: the concurrency caps are well above what podctl opens
// for one person at a terminal (apply --wait and get -w hold one watch
// each, logs -f --all-containers one follow per container) and far below
// what hurts: a watch costs a queue of WatchBuffer changes, a follow two
// 20 KiB buffers, an exec session a containerd process and its pipes.
const (
	DefaultMaxWatches        = 100
	DefaultMaxLogFollows     = 50
	DefaultMaxExecSessions   = 20
	DefaultRequestTimeout    = 60 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.Watches == 0 {
		l.Watches = DefaultMaxWatches
	}
	if l.LogFollows == 0 {
		l.LogFollows = DefaultMaxLogFollows
	}
	if l.ExecSessions == 0 {
		l.ExecSessions = DefaultMaxExecSessions
	}
	if l.RequestTimeout == 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	return l
}

// retryAfterSeconds is what a client over a cap is told to wait, as the
// API server's max-in-flight filter does.
const retryAfterSeconds = 1

// slots is a counting semaphore that never waits: a session either gets
// a slot now or is refused.
type slots struct {
	what string // "watches", for the message
	free chan struct{}
}

func newSlots(what string, n int) *slots {
	return &slots{what: what, free: make(chan struct{}, n)}
}

// acquire takes a slot; release gives it back (idempotent is not needed:
// callers defer it once). Without a free slot it returns the 429.
func (s *slots) acquire() (release func(), err error) {
	select {
	case s.free <- struct{}{}:
		return func() { <-s.free }, nil
	default:
		return nil, api.NewTooManyRequests(fmt.Sprintf(
			"too many concurrent %s (limit %d): try again later", s.what, cap(s.free)), retryAfterSeconds)
	}
}

// inUse is how many slots are taken (tests).
func (s *slots) inUse() int { return len(s.free) }

// longRunning reports whether a request is a session that may last as
// long as its client wants: a watch, a followed log, an exec, or an image
// import or pull (their duration is the image's size and the registry's
// speed). They are bounded by the session caps, not by RequestTimeout.
func longRunning(r *http.Request) bool {
	q := r.URL.Query()
	switch {
	case q.Get("watch") != "" && q.Get("watch") != "false" && q.Get("watch") != "0":
		return true
	case q.Get("follow") != "" && q.Get("follow") != "false" && q.Get("follow") != "0":
		return true
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && (p == "/images/import" || p == "/images/pull"):
		return true
	case strings.HasPrefix(p, "/api/v1/namespaces/") && (strings.HasSuffix(p, "/exec") ||
		strings.HasSuffix(p, "/attach") || strings.HasSuffix(p, "/portforward")):
		return true
	}
	return false
}

// bounded applies RequestTimeout to every request that is not
// long-running: the handler's context ends, and the connection's read and
// write deadlines make a client that stops sending its body or reading
// the answer fail instead of holding the handler.
func (s *Server) bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if longRunning(r) {
			next.ServeHTTP(w, r)
			return
		}
		d := s.limits.RequestTimeout
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(d)
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		// The next request on a kept-alive connection may be a watch: it
		// must not inherit this one's deadline.
		defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
