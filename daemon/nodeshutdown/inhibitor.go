// Package nodeshutdown stops pods in pod order when the host shuts down:
// it holds a logind delay inhibitor lock, follows PrepareForShutdown, and
// checks that logind's InhibitDelayMaxSec leaves podrund its grace.
package nodeshutdown

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/coreos/go-systemd/v22/login1"
	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"
)

// Inhibitor holds a logind "delay" inhibitor lock so that, when the
// host shuts down, podrund can stop pods in pod order before it goes. It
// follows logind's protocol as the kubelet's node shutdown manager does:
// PrepareForShutdown(true) means the shutdown is starting: stop the pods,
// then release the lock so that it goes on; PrepareForShutdown(false) means
// it was cancelled (or failed to start): take a new lock, so that the next
// shutdown is delayed too, and run the stopped pods again.
type Inhibitor struct {
	conn    *login1.Conn
	inhibit func() (*os.File, error) // logind's Manager.Inhibit (a stand-in in tests)
	log     *zap.Logger
	sigs    chan bool // the newest PrepareForShutdown value not yet acted on

	mu      sync.Mutex
	lock    *os.File // nil while released
	stopped bool     // pods were stopped for a shutdown not cancelled since
}

// Inhibit takes the lock; without logind (containers, minimal
// hosts) it returns nil and podrund leaves pods to the host.
func Inhibit(log *zap.Logger) *Inhibitor {
	conn, err := login1.New()
	if err != nil {
		log.Info("no logind: pods are not stopped in pod order at host shutdown", zap.Error(err))
		return nil
	}
	s := &Inhibitor{conn: conn, log: log, sigs: make(chan bool, 1),
		inhibit: func() (*os.File, error) {
			return conn.Inhibit("shutdown", "podrund", "stopping pods in pod order", "delay")
		}}
	// Subscribed before the lock is taken, so that no shutdown between the
	// two goes unseen.
	raw := conn.Subscribe("PrepareForShutdown")
	if err := s.take(); err != nil {
		conn.Close()
		log.Warn("take the logind shutdown inhibitor lock", zap.Error(err))
		return nil
	}
	go s.forward(raw)
	return s
}

// forward passes PrepareForShutdown values on, keeping only the newest when
// the previous one was not taken yet: what matters is the latest state.
// It ends when the connection is closed.
func (s *Inhibitor) forward(raw <-chan *dbus.Signal) {
	for sig := range raw {
		if sig == nil || sig.Name != "org.freedesktop.login1.Manager.PrepareForShutdown" || len(sig.Body) != 1 {
			continue
		}
		starting, ok := sig.Body[0].(bool)
		if !ok {
			continue
		}
		select {
		case <-s.sigs:
		default:
		}
		s.sigs <- starting
	}
}

// take acquires a delay lock unless one is held.
func (s *Inhibitor) take() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		return nil
	}
	lock, err := s.inhibit()
	if err != nil {
		return fmt.Errorf("logind Inhibit: %w", err)
	}
	s.lock = lock
	return nil
}

// releaseLock lets a host shutdown go on.
func (s *Inhibitor) releaseLock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// Watch acts on logind's signals until ctx ends: stopPods on a shutdown
// (then the lock is released), resumePods and a new lock on a
// cancellation. Nil-safe.
func (s *Inhibitor) Watch(ctx context.Context, stopPods, resumePods func()) {
	if s == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case starting := <-s.sigs:
			s.handle(starting, stopPods, resumePods)
		}
	}
}

func (s *Inhibitor) handle(starting bool, stopPods, resumePods func()) {
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = starting
	s.mu.Unlock()
	switch {
	case starting && !stopped:
		s.log.Info("host is shutting down: stopping pods in pod order")
		stopPods()
		s.releaseLock()
		s.log.Info("pods stopped: released the logind shutdown inhibitor lock")
	case !starting:
		if err := s.take(); err != nil {
			s.log.Error("host shutdown cancelled, but the logind inhibitor lock cannot be taken again", zap.Error(err))
		} else {
			s.log.Info("host shutdown cancelled: took a new logind shutdown inhibitor lock")
		}
		if stopped {
			resumePods()
		}
	}
}

// ShutDown tells whether pods were stopped for a host shutdown that was
// not cancelled (podrund then also stops the containerd it embeds).
func (s *Inhibitor) ShutDown() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Release drops the lock and the connection when podrund exits.
func (s *Inhibitor) Release() {
	if s == nil {
		return
	}
	s.releaseLock()
	s.conn.Close()
}
