// Package server is podrund's REST API on the unix socket (docs/contract.md §3):
// Kubernetes-shaped paths for pods, configmaps, secrets, events and jobs,
// images, version and health, watch streams, logs and exec. It also
// implements supervisor.Sink: the engine reports status and events here,
// the server commits them to the store and announces them to watchers.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/daemon/store"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// MaxBodyBytes bounds object bodies (POST/PUT); larger ones get 413.
const MaxBodyBytes = 3 << 20

// Options configure a Server. Store is required; the rest may be nil
// (the paths that need them then answer 503).
type Options struct {
	Store  *store.Store
	Images Images
	Execer Execer
	Jobs   JobController
	// Pods hears about every committed pod write (the Job runner).
	Pods    PodObserver
	Volumes VolumeRefresher
	// Logs removes a pod's logs once the pod is gone; nil keeps them.
	Logs    PodLogRemover
	Metrics *metrics.Metrics // nil: /metrics answers 503 and nothing is recorded
	// Policy is checked on every pod and Job template; nil admits everything.
	Policy *secopts.Policy
	Clock  clock.Clock
	Logger *zap.Logger
	// Root is podrund's --root, where container logs live.
	Root string
	// Version, GitCommit and ContainerdVersion fill GET /version.
	Version           string
	GitCommit         string
	ContainerdVersion func(ctx context.Context) string
	// LogPollInterval is how often a followed log is checked for growth.
	LogPollInterval time.Duration
	// Stats reads container cgroups for .../stats; nil reads /sys/fs/cgroup.
	Stats CgroupSampler
	// WatchBuffer is each watcher's queue; a watcher that falls this far
	// behind is dropped rather than slowing the engine.
	WatchBuffer int
	// Pprof serves net/http/pprof under /debug/pprof/ (podrund --pprof).
	Pprof bool
	// ReadyzNotes are facts about the host that change how pods run (the
	// oom_score_adj clamp); GET /readyz?verbose lists them.
	ReadyzNotes []string
	// Limits cap sessions and time requests; zero fields take the defaults.
	Limits Limits
}

// Server is the REST server and the engine's Sink.
type Server struct {
	o       Options
	st      *store.Store
	log     *zap.Logger
	clk     clock.Clock
	rec     metrics.Recorder
	hub     *hub
	handler http.Handler

	limits                      Limits
	watches, follows, execSlots *slots

	engineMu sync.RWMutex
	engine   Engine

	ready     atomic.Bool
	startedMu sync.Mutex
	started   map[types.UID]bool // pods whose start latency was observed
}

// New builds the server and installs its watch notifier on the store.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.LogPollInterval == 0 {
		o.LogPollInterval = 200 * time.Millisecond
	}
	if o.WatchBuffer == 0 {
		o.WatchBuffer = 256
	}
	lim := o.Limits.withDefaults()
	s := &Server{o: o, st: o.Store, log: o.Logger, clk: o.Clock, rec: metrics.Nop{},
		hub: newHub(o.WatchBuffer, o.Logger), started: map[types.UID]bool{}, limits: lim,
		watches: newSlots("watches", lim.Watches), follows: newSlots("log follows", lim.LogFollows),
		execSlots: newSlots("exec sessions", lim.ExecSessions)}
	if o.Metrics != nil {
		s.rec = o.Metrics
	}
	s.st.SetNotifier(s.notify)
	s.handler = s.routes()
	return s, nil
}

// notify is the store's Notifier: watchers first, then the pod observer.
func (s *Server) notify(c store.Change) {
	s.hub.publish(c)
	obs := s.podObserver()
	if obs == nil || c.Bucket != store.BucketPods {
		return
	}
	if pod, ok := c.Object.(*corev1.Pod); ok {
		obs.PodChanged(pod)
	}
}

// SetEngine connects the engine. It is separate from New because the
// engine is built with the server as its Sink.
func (s *Server) SetEngine(e Engine) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	s.engine = e
}

// SetJobController connects the Job controller after New (it is built
// with the server as its pod control and job store). obs may be nil.
func (s *Server) SetJobController(jc JobController, obs PodObserver) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	s.o.Jobs, s.o.Pods = jc, obs
}

func (s *Server) jobController() JobController {
	s.engineMu.RLock()
	defer s.engineMu.RUnlock()
	return s.o.Jobs
}

func (s *Server) podObserver() PodObserver {
	s.engineMu.RLock()
	defer s.engineMu.RUnlock()
	return s.o.Pods
}

func (s *Server) eng() Engine {
	s.engineMu.RLock()
	defer s.engineMu.RUnlock()
	return s.engine
}

// SetReady marks the daemon ready (after re-adoption); /readyz answers 503
// before.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Handler is the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen opens the API socket: a stale socket file left by a killed
// podrund is removed, a live one is an error, and the socket gets mode 0660
// (created 0600: it is never open to other users, not even for a moment).
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("socket path %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("socket %s answers: another podrund is running", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	}
	ln, err := listenPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	return ln, nil
}

// Serve answers requests on ln until ctx ends; then open watch and log
// streams are ended and the listener closed. Pods are not touched.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve API: %w", err)
	case <-ctx.Done():
	}
	cancel() // ends watches, follows and execs
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	<-errc
	return nil
}
