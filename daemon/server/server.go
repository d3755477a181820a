// Package server is podrund's REST API on the unix socket (docs/contract.md §3):
// Kubernetes-shaped paths for pods, configmaps, secrets, events and jobs,
// images, version and health, watch streams, logs and exec. It is HTTP
// only: handlers decode a request, call daemon/objects (the object
// semantics, storage and the watch hub) and encode the answer.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/podrun/podrun/daemon/kubeapi"
	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/daemon/objects"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// MaxBodyBytes bounds object bodies (POST/PUT); larger ones get 413.
const MaxBodyBytes = 3 << 20

// Options configure a Server. Objects is required; the rest may be nil
// (the paths that need them then answer 503).
type Options struct {
	// Objects is the object layer the handlers call; its clock stamps
	// the answers too.
	Objects *objects.Objects
	Images  Images
	Execer  Execer
	// Dialer reaches ports inside pods for .../portforward; nil answers 503.
	Dialer PodDialer
	// Kubeconfig issues an admin kubeconfig for the HTTPS listener, naming
	// server ("": the listener's own address); nil: no listener.
	Kubeconfig func(server string) ([]byte, error)
	Metrics    *metrics.Metrics // nil: /metrics answers 503 and nothing is recorded
	Logger     *zap.Logger
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
	// Pprof serves net/http/pprof under /debug/pprof/ (podrund --pprof).
	Pprof bool
	// ReadyzNotes are facts about the host that change how pods run (the
	// oom_score_adj clamp); GET /readyz?verbose lists them.
	ReadyzNotes []string
	// Limits cap sessions and time requests; zero fields take the defaults.
	Limits Limits
}

// Server is the REST server.
type Server struct {
	o       Options
	obj     *objects.Objects
	log     *zap.Logger
	clk     clock.Clock
	rec     metrics.Recorder
	handler http.Handler

	// discovery describes what the routes serve (set by routes()).
	discovery *kubeapi.Discovery

	limits                      Limits
	watches, follows, execSlots *slots

	ready atomic.Bool
}

// New builds the server over its object layer.
func New(o Options) (*Server, error) {
	if o.Objects == nil {
		return nil, errors.New("server: the object layer is required")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.LogPollInterval == 0 {
		o.LogPollInterval = 200 * time.Millisecond
	}
	lim := o.Limits.withDefaults()
	s := &Server{o: o, obj: o.Objects, log: o.Logger, clk: o.Objects.Clock(), rec: metrics.Nop{}, limits: lim,
		watches: newSlots("watches", lim.Watches), follows: newSlots("log follows", lim.LogFollows),
		execSlots: newSlots("exec sessions", lim.ExecSessions)}
	if o.Metrics != nil {
		s.rec = o.Metrics
	}
	s.handler = s.routes()
	return s, nil
}

// eng is the engine, nil before daemon/app connects it.
func (s *Server) eng() objects.Engine { return s.obj.Engine() }

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
