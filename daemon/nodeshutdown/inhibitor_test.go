package nodeshutdown

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"
)

// pipeLocks stands in for logind's Inhibit: each lock is a pipe's write
// end; its read end reaches EOF when podrund releases the lock.
type pipeLocks struct {
	mu       sync.Mutex
	released []chan struct{}
}

func (p *pipeLocks) inhibit() (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, r); r.Close(); close(done) }()
	p.mu.Lock()
	p.released = append(p.released, done)
	p.mu.Unlock()
	return w, nil
}

func (p *pipeLocks) lock(i int) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.released) {
		return nil
	}
	return p.released[i]
}

func (p *pipeLocks) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.released)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestInhibitorFollowsLogind: PrepareForShutdown(true) stops the pods
// with the lock still held and then releases it (a repeated true does
// nothing more); PrepareForShutdown(false) takes a new lock and resumes
// the pods (a repeated false does nothing more), as the kubelet's node
// shutdown manager does.
func TestInhibitorFollowsLogind(t *testing.T) {
	locks := &pipeLocks{}
	s := &Inhibitor{inhibit: locks.inhibit, log: zap.NewNop(), sigs: make(chan bool, 1)}
	if err := s.take(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []string
	note := func(c string) { mu.Lock(); calls = append(calls, c); mu.Unlock() }
	stopped := make(chan struct{}, 4)
	stop := func() {
		s.mu.Lock()
		held := s.lock != nil
		s.mu.Unlock()
		if !held || isClosed(locks.lock(locks.count()-1)) {
			t.Error("lock released before the pods were stopped")
		}
		note("stop")
		stopped <- struct{}{}
	}
	resumed := make(chan struct{}, 4)
	resume := func() { note("resume"); resumed <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, stop, resume); close(done) }()
	defer func() { cancel(); <-done }()

	s.sigs <- true
	<-stopped
	select {
	case <-locks.lock(0):
	case <-time.After(5 * time.Second):
		t.Fatal("lock not released after the pods were stopped")
	}
	if !s.ShutDown() {
		t.Error("shutDown() is false after a shutdown")
	}
	s.sigs <- true // logind repeats itself: nothing more to stop
	s.sigs <- false
	<-resumed
	if n := locks.count(); n != 2 || isClosed(locks.lock(1)) {
		t.Fatalf("after the cancellation: %d locks taken, the new one released %v", n, isClosed(locks.lock(1)))
	}
	s.sigs <- false // already held and running: nothing to do
	s.sigs <- true
	<-stopped
	<-locks.lock(1)
	mu.Lock()
	got := calls
	mu.Unlock()
	if want := "stop resume stop"; joinCalls(got) != want {
		t.Errorf("calls %q, want %q", joinCalls(got), want)
	}
	if n := locks.count(); n != 2 {
		t.Errorf("%d locks taken, want 2 (a repeated false must not take another)", n)
	}
}

func joinCalls(c []string) string {
	out := ""
	for i, s := range c {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// TestForwardKeepsNewest: signals that arrive while podrund is busy are
// coalesced to the newest state; foreign signals are ignored.
func TestForwardKeepsNewest(t *testing.T) {
	s := &Inhibitor{sigs: make(chan bool, 1)}
	raw := make(chan *dbus.Signal, 4)
	raw <- &dbus.Signal{Name: "org.freedesktop.login1.Manager.PrepareForShutdown", Body: []any{true}}
	raw <- &dbus.Signal{Name: "org.freedesktop.login1.Manager.PrepareForSleep", Body: []any{true}}
	raw <- &dbus.Signal{Name: "org.freedesktop.login1.Manager.PrepareForShutdown", Body: []any{false}}
	raw <- &dbus.Signal{Name: "org.freedesktop.login1.Manager.PrepareForShutdown", Body: []any{"bad"}}
	close(raw)
	s.forward(raw)
	if got := <-s.sigs; got {
		t.Fatal("newest value is true, want false (the cancellation)")
	}
	select {
	case v := <-s.sigs:
		t.Fatalf("stale value %v left", v)
	default:
	}
}
