package memory

import (
	"context"
	"io"
	"math"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/config"
	"github.com/podrun/podrun/daemon/server"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	clocktesting "k8s.io/utils/clock/testing"
)

const testDelay = 250 * time.Millisecond

func newTestReleaser() (*Releaser, *clocktesting.FakeClock, *atomic.Int32) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	var released atomic.Int32
	h := NewReleaser(clk, testDelay)
	h.release = func() { released.Add(1) }
	return h, clk, &released
}

// wantReleased fails the test unless the heap was released want times
// by now (when says when).
func wantReleased(t *testing.T, released *atomic.Int32, want int32, when string) {
	t.Helper()
	if n := released.Load(); n != want {
		t.Fatalf("released %d times %s, want %d", n, when, want)
	}
}

func TestHeapReleasedOnceAfterTheLastTransfer(t *testing.T) {
	h, clk, released := newTestReleaser()
	endA := h.begin()
	endB := h.begin()
	endA()
	clk.Step(time.Hour)
	wantReleased(t, released, 0, "while a transfer still ran")
	endB()
	clk.Step(testDelay - time.Millisecond)
	wantReleased(t, released, 0, "before the delay passed")
	clk.Step(time.Millisecond)
	wantReleased(t, released, 1, "after the last transfer")
	endB() // a second call of the same end func changes nothing
	clk.Step(time.Hour)
	wantReleased(t, released, 1, "after a repeated end")
}

func TestHeapReleaseWaitsForATransferThatBeganDuringTheDelay(t *testing.T) {
	h, clk, released := newTestReleaser()
	h.begin()()
	clk.Step(testDelay / 2)
	end := h.begin() // the pending release is now stale
	clk.Step(testDelay)
	wantReleased(t, released, 0, "while the second transfer ran")
	end()
	h.begin()() // a third, short transfer: the release moves after it
	clk.Step(testDelay - time.Millisecond)
	wantReleased(t, released, 0, "before the delay after the last transfer passed")
	clk.Step(time.Millisecond)
	wantReleased(t, released, 1, "after the last transfer")
}

// fakeImages counts the calls the wrapper passes through and checks that
// the releaser counts the transfer as running while it runs.
type fakeImages struct {
	server.Images
	h     *Releaser
	calls int
	t     *testing.T
}

func (f *fakeImages) running() int {
	f.h.mu.Lock()
	defer f.h.mu.Unlock()
	return f.h.running
}

func (f *fakeImages) ImportImage(context.Context, io.Reader) ([]supervisor.ImageStatus, error) {
	f.calls++
	if f.running() != 1 {
		f.t.Errorf("import ran with %d transfers counted, want 1", f.running())
	}
	return []supervisor.ImageStatus{{Ref: "docker.io/library/busybox:1.28"}}, nil
}

func (f *fakeImages) PullImage(_ context.Context, ref string, _ supervisor.PullProgress) (supervisor.ImageStatus, error) {
	f.calls++
	if f.running() != 1 {
		f.t.Errorf("pull ran with %d transfers counted, want 1", f.running())
	}
	return supervisor.ImageStatus{Ref: ref}, nil
}

func TestImageTransfersReleaseTheHeap(t *testing.T) {
	h, clk, released := newTestReleaser()
	inner := &fakeImages{h: h, t: t}
	api := Images{Images: inner, Heap: h}
	engine := Runtime{Runtime: nil, Heap: h}
	if st, err := api.ImportImage(context.Background(), strings.NewReader("")); err != nil || len(st) != 1 {
		t.Fatalf("import through the wrapper: %v %v", st, err)
	}
	if st, err := api.PullImage(context.Background(), "busybox", nil); err != nil || st.Ref != "busybox" {
		t.Fatalf("pull through the wrapper: %v %v", st, err)
	}
	if inner.calls != 2 {
		t.Fatalf("the wrapper made %d calls, want 2", inner.calls)
	}
	clk.Step(testDelay)
	wantReleased(t, released, 1, "after two transfers in a row")
	engine.Runtime = pullOnly{f: inner}
	if _, err := engine.PullImage(context.Background(), "busybox", nil); err != nil {
		t.Fatal(err)
	}
	clk.Step(testDelay)
	wantReleased(t, released, 2, "after the engine's pull")
}

// pullOnly is a supervisor.Runtime whose only working call is PullImage.
type pullOnly struct {
	supervisor.Runtime
	f *fakeImages
}

func (p pullOnly) PullImage(ctx context.Context, ref string, pp supervisor.PullProgress) (supervisor.ImageStatus, error) {
	return p.f.PullImage(ctx, ref, pp)
}

func TestApplyMemoryLeavesGOGCAndGOMEMLIMITToTheEnvironment(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	Apply(config.Memory{GCPercent: 37, SoftLimitBytes: 1 << 30}, false, zap.NewNop())
	if got := debug.SetGCPercent(100); got != 37 {
		t.Fatalf("GC percent %d after applying gcPercent 37", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 1<<30 {
		t.Fatalf("memory limit %d after applying softLimitBytes 1 GiB", got)
	}
	t.Setenv("GOGC", "80")
	t.Setenv("GOMEMLIMIT", "2GiB")
	Apply(config.Memory{GCPercent: 37, SoftLimitBytes: 1 << 30}, false, zap.NewNop())
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d: the config overrode GOGC from the environment", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("memory limit %d: the config overrode GOMEMLIMIT from the environment", got)
	}
}
