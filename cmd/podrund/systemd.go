package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/login1"
	"github.com/godbus/dbus/v5"
	"github.com/podrun/podrun/daemon/server"
	"go.uber.org/zap"
)

// listen returns the API listener: the socket systemd passed (socket
// activation, LISTEN_FDS) or a socket podrund opens itself.
func listen(path string, log *zap.Logger) (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") != "" {
		lns, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("socket activation: %w", err)
		}
		for _, ln := range lns {
			if ln != nil {
				log.Info("serving on the socket passed by systemd", zap.String("address", ln.Addr().String()))
				return ln, nil
			}
		}
		return nil, fmt.Errorf("socket activation: LISTEN_FDS is set but no listening socket was passed")
	}
	ln, err := server.Listen(path)
	if err != nil {
		return nil, err
	}
	log.Info("serving", zap.String("socket", path))
	return ln, nil
}

// notifyReady tells systemd (Type=notify) that podrund is ready; outside
// systemd it does nothing.
func notifyReady(log *zap.Logger) {
	sent, err := sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	if err != nil {
		log.Warn("sd_notify READY=1", zap.Error(err))
	} else if sent {
		log.Info("told systemd podrund is ready")
	}
}

// notifyWaitingForContainerd tells systemd, before each wait for
// containerd, why podrund is not ready yet (STATUS, shown by systemctl
// status) and that it is still starting: EXTEND_TIMEOUT_USEC keeps the
// unit's TimeoutStartSec from killing a podrund that waits for a
// containerd that is slow to come up, and WATCHDOG=1 keeps the watchdog
// quiet. READY=1 follows only once containerd answered and the stored
// pods were adopted.
func notifyWaitingForContainerd(address string, log *zap.Logger) func(time.Duration, error) {
	return func(retryIn time.Duration, why error) {
		msg := fmt.Sprintf("STATUS=waiting for containerd at %s: %v\nEXTEND_TIMEOUT_USEC=%d\n%s",
			address, why, (retryIn + 10*time.Second).Microseconds(), sddaemon.SdNotifyWatchdog)
		if _, err := sddaemon.SdNotify(false, msg); err != nil {
			log.Warn("sd_notify while waiting for containerd", zap.Error(err))
		}
	}
}

func notifyStopping() { _, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyStopping) }

// watchdog pings systemd at half the WatchdogSec interval while healthy()
// holds, until ctx ends. Without WATCHDOG_USEC it returns at once.
func watchdog(ctx context.Context, healthy func() bool, log *zap.Logger) {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !healthy() {
				log.Warn("not pinging the systemd watchdog: podrund is unhealthy")
				continue
			}
			if _, err := sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog); err != nil {
				log.Warn("sd_notify WATCHDOG=1", zap.Error(err))
			}
		}
	}
}

// shutdownInhibitor holds a logind "delay" inhibitor lock so that, when the
// host shuts down, podrund can stop pods in pod order before it goes. It
// follows logind's protocol as the kubelet's node shutdown manager does:
// PrepareForShutdown(true) means the shutdown is starting: stop the pods,
// then release the lock so that it goes on; PrepareForShutdown(false) means
// it was cancelled (or failed to start): take a new lock, so that the next
// shutdown is delayed too, and run the stopped pods again.
type shutdownInhibitor struct {
	conn    *login1.Conn
	inhibit func() (*os.File, error) // logind's Manager.Inhibit (a stand-in in tests)
	log     *zap.Logger
	sigs    chan bool // the newest PrepareForShutdown value not yet acted on

	mu      sync.Mutex
	lock    *os.File // nil while released
	stopped bool     // pods were stopped for a shutdown not cancelled since
}

// inhibitShutdown takes the lock; without logind (containers, minimal
// hosts) it returns nil and podrund leaves pods to the host.
func inhibitShutdown(log *zap.Logger) *shutdownInhibitor {
	conn, err := login1.New()
	if err != nil {
		log.Info("no logind: pods are not stopped in pod order at host shutdown", zap.Error(err))
		return nil
	}
	s := &shutdownInhibitor{conn: conn, log: log, sigs: make(chan bool, 1),
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
func (s *shutdownInhibitor) forward(raw <-chan *dbus.Signal) {
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
func (s *shutdownInhibitor) take() error {
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
func (s *shutdownInhibitor) releaseLock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// watch acts on logind's signals until ctx ends: stopPods on a shutdown
// (then the lock is released), resumePods and a new lock on a
// cancellation. Nil-safe.
func (s *shutdownInhibitor) watch(ctx context.Context, stopPods, resumePods func()) {
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

func (s *shutdownInhibitor) handle(starting bool, stopPods, resumePods func()) {
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

// shutDown tells whether pods were stopped for a host shutdown that was
// not cancelled (podrund then also stops the containerd it embeds).
func (s *shutdownInhibitor) shutDown() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// release drops the lock and the connection when podrund exits.
func (s *shutdownInhibitor) release() {
	if s == nil {
		return
	}
	s.releaseLock()
	s.conn.Close()
}
