package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/login1"
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
// host shuts down, podrund can stop pods in pod order before it goes.
type shutdownInhibitor struct {
	conn *login1.Conn
	lock *os.File
	sigs <-chan bool // true: shutdown is starting
}

// inhibitShutdown takes the lock; without logind (containers, minimal
// hosts) it returns nil and podrund leaves pods to the host.
func inhibitShutdown(log *zap.Logger) *shutdownInhibitor {
	conn, err := login1.New()
	if err != nil {
		log.Info("no logind: pods are not stopped in pod order at host shutdown", zap.Error(err))
		return nil
	}
	lock, err := conn.Inhibit("shutdown", "podrund", "stopping pods in pod order", "delay")
	if err != nil {
		conn.Close()
		log.Warn("take the logind shutdown inhibitor lock", zap.Error(err))
		return nil
	}
	sigs := make(chan bool, 1)
	raw := conn.Subscribe("PrepareForShutdown")
	go func() {
		for s := range raw {
			if len(s.Body) == 1 {
				if starting, ok := s.Body[0].(bool); ok {
					select {
					case sigs <- starting:
					default:
					}
				}
			}
		}
	}()
	return &shutdownInhibitor{conn: conn, lock: lock, sigs: sigs}
}

// shutdownStarting is closed-over by the daemon's select; nil-safe.
func (s *shutdownInhibitor) shutdownStarting() <-chan bool {
	if s == nil {
		return nil
	}
	return s.sigs
}

// release lets the host shutdown go on.
func (s *shutdownInhibitor) release() {
	if s == nil {
		return
	}
	_ = s.lock.Close()
	s.conn.Close()
}
