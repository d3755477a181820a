package containerd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"go.uber.org/zap"

	"github.com/podrun/podrun/daemon/internal/chans"
	"github.com/podrun/podrun/supervisor"
)

// ioDrainWait bounds the wait for an exec's output after it exited (a
// background child may hold the pipes open).
const ioDrainWait = 2 * time.Second

// Exec runs a command in a running instance with the instance's process
// settings (user, env, cwd, capabilities) and returns its exit code. When
// ctx ends first (a probe timeout) the exec process is killed and ctx's
// error returned.
func (r *Runtime) Exec(ctx context.Context, id string, req supervisor.ExecRequest) (int, error) {
	if len(req.Command) == 0 {
		return -1, fmt.Errorf("exec in %s: empty command", id)
	}
	nctx := r.nsCtx(ctx)
	// Cleanup and waiting must outlive a cancelled ctx.
	bg := context.WithoutCancel(nctx)
	cont, task, err := r.loadTask(nctx, id)
	if err != nil {
		return -1, err
	}
	spec, err := cont.Spec(nctx)
	if err != nil {
		return -1, fmt.Errorf("read spec of %s: %w", id, err)
	}
	pspec := *spec.Process
	pspec.Args = req.Command
	pspec.Terminal = req.TTY
	execID, err := newInstanceID()
	if err != nil {
		return -1, err
	}
	stdin := &stdinCloser{r: req.Stdin}
	proc, err := task.Exec(nctx, "exec-"+execID[:16], &pspec, cio.NewCreator(r.execStreams(req, stdin)...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer func() {
		if _, err := proc.Delete(bg, containerd.WithProcessKill); err != nil {
			r.log.Debug("delete exec process", zap.String("id", id), zap.Error(err))
		}
	}()
	stdin.set(bg, proc)
	statusC, err := proc.Wait(bg)
	if err != nil {
		return -1, fmt.Errorf("wait for exec in %s: %w", id, err)
	}
	if err := proc.Start(nctx); err != nil {
		return -1, fmt.Errorf("start exec in %s: %w", id, err)
	}
	if req.TTY && req.Resize != nil {
		rctx, stopResize := context.WithCancel(nctx)
		defer stopResize()
		go forwardResize(rctx, proc, req.Resize)
	}
	select {
	case st := <-statusC:
		waitIO(proc.IO())
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		if err := proc.Kill(bg, syscall.SIGKILL); err != nil {
			r.log.Debug("kill timed-out exec", zap.String("id", id), zap.Error(err))
		}
		select {
		case <-statusC:
		case <-time.After(killWait):
		}
		return -1, ctx.Err()
	}
}

func (r *Runtime) execStreams(req supervisor.ExecRequest, stdin *stdinCloser) []cio.Opt {
	var in io.Reader
	if req.Stdin != nil {
		in = stdin
	}
	out, errw := req.Stdout, req.Stderr
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = io.Discard
	}
	opts := []cio.Opt{cio.WithStreams(in, out, errw), cio.WithFIFODir(filepath.Join(r.opts.State, "fifo"))}
	if req.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	return opts
}

func waitIO(i cio.IO) {
	done := make(chan struct{})
	go func() { i.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(ioDrainWait):
		i.Cancel()
	}
}

func forwardResize(ctx context.Context, proc containerd.Process, sizes <-chan supervisor.TerminalSize) {
	chans.Each(ctx, sizes, func(s supervisor.TerminalSize) {
		// A failed resize only affects the display.
		_ = proc.Resize(ctx, uint32(s.Width), uint32(s.Height))
	})
}

// stdinCloser tells the shim to close the process's stdin when the
// client's stdin ends, so `cat`-like commands see EOF.
type stdinCloser struct {
	r    io.Reader
	mu   sync.Mutex
	ctx  context.Context
	proc containerd.Process
	once sync.Once
}

func (s *stdinCloser) set(ctx context.Context, p containerd.Process) {
	s.mu.Lock()
	s.ctx, s.proc = ctx, p
	s.mu.Unlock()
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		s.once.Do(func() {
			// The process may not be known yet if stdin ends at once; wait
			// briefly for Exec to record it.
			for range 100 {
				s.mu.Lock()
				proc, ctx := s.proc, s.ctx
				s.mu.Unlock()
				if proc != nil {
					_ = proc.CloseIO(ctx, containerd.WithStdinCloser)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	return n, err
}
