// Package memory holds podrund's handling of its own Go heap: the runtime's
// memory knobs from the config, and handing back to the OS the heap that
// image transfers grew.
package memory

import (
	"context"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/server"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// ReleaseDelay lets a burst of image transfers (an apply that pulls the
// images of several pods) end before the heap they grew is handed back.
const ReleaseDelay = 250 * time.Millisecond

// defaultMemProfileRate is the Go runtime's own default heap sampling rate.
const defaultMemProfileRate = 512 * 1024

// StopHeapSampling turns the runtime's heap profiling off before podrund
// allocates anything of its own: its samples and their stack buckets are
// kept for the life of the process, and only --pprof can show them.
func StopHeapSampling() { goruntime.MemProfileRate = 0 }

// Apply sets the Go runtime's memory knobs from the config. GOGC and
// GOMEMLIMIT in the environment win: they are Go's standard overrides and
// an operator who sets them means them.
func Apply(m config.Memory, pprof bool, log *zap.Logger) {
	if pprof {
		goruntime.MemProfileRate = defaultMemProfileRate
	}
	var fields []zap.Field
	if env := os.Getenv("GOGC"); env != "" {
		fields = append(fields, zap.String("GOGC", env))
	} else {
		debug.SetGCPercent(m.GCPercent)
		fields = append(fields, zap.Int("gcPercent", m.GCPercent))
	}
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		fields = append(fields, zap.String("GOMEMLIMIT", env))
	} else if m.SoftLimitBytes > 0 {
		debug.SetMemoryLimit(m.SoftLimitBytes)
		fields = append(fields, zap.Int64("softLimitBytes", m.SoftLimitBytes))
	}
	log.Info("go memory settings", fields...)
}

// Releaser hands the heap an image transfer grew back to the OS once
// no transfer is running. An import or pull streams the image through
// containerd's and gRPC's pooled 1 MiB buffers; the Go runtime would keep
// those pages (sync.Pool survives one collection, and an idle podrund
// collects only every two minutes), so an idle podrund would stay several
// MiB larger after its first image than before it.
type Releaser struct {
	clock   clock.WithDelayedExecution
	delay   time.Duration
	release func()

	mu      sync.Mutex
	running int
	ended   uint64 // counts the times running fell to 0; a timer set at an older count is stale
}

func NewReleaser(clk clock.WithDelayedExecution, delay time.Duration) *Releaser {
	return &Releaser{clock: clk, delay: delay, release: releaseHeap}
}

// releaseHeap collects twice, so that buffers parked in a sync.Pool (kept
// across one collection as its victim cache) are garbage too, then returns
// the free pages to the OS.
func releaseHeap() {
	goruntime.GC()
	debug.FreeOSMemory()
}

// begin marks a transfer running; the returned func marks it done. The
// heap is released delay after the last running transfer is done, unless
// another began meanwhile.
func (h *Releaser) begin() func() {
	h.mu.Lock()
	h.running++
	h.mu.Unlock()
	var once sync.Once
	return func() { once.Do(h.done) }
}

func (h *Releaser) done() {
	h.mu.Lock()
	h.running--
	if h.running > 0 {
		h.mu.Unlock()
		return
	}
	h.ended++
	at := h.ended
	h.mu.Unlock()
	h.clock.AfterFunc(h.delay, func() { h.fire(at) })
}

// fire releases when no transfer began since the timer was set at ended.
func (h *Releaser) fire(at uint64) {
	h.mu.Lock()
	current := h.running == 0 && h.ended == at
	h.mu.Unlock()
	if current {
		h.release()
	}
}

// Images is the API's image side with the heap released after
// imports and pulls.
type Images struct {
	server.Images
	Heap *Releaser
}

func (i Images) ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	defer i.Heap.begin()()
	return i.Images.ImportImage(ctx, rd)
}

func (i Images) PullImage(ctx context.Context, ref string, p supervisor.PullProgress) (supervisor.ImageStatus, error) {
	defer i.Heap.begin()()
	return i.Images.PullImage(ctx, ref, p)
}

// Runtime is the engine's runtime with the heap released after
// the pulls a pod's containers need. It only adds to PullImage; every
// other call goes straight to the runtime.
type Runtime struct {
	supervisor.Runtime
	Heap *Releaser
}

func (r Runtime) PullImage(ctx context.Context, ref string, p supervisor.PullProgress) (supervisor.ImageStatus, error) {
	defer r.Heap.begin()()
	return r.Runtime.PullImage(ctx, ref, p)
}
