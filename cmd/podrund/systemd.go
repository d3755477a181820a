package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/podrun/podrun/daemon/server"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/util/wait"
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

// settingUpInterval is how often notifySettingUp is called while the
// first pass over the device directories runs; each call extends the
// start timeout by three times that.
const settingUpInterval = 10 * time.Second

// notifySettingUp tells systemd, while the image and manifest directories
// get their first pass (a large archive on a slow card takes minutes),
// what podrund is doing and that it is still starting, as
// notifyWaitingForContainerd does.
func notifySettingUp(log *zap.Logger) func(status string) {
	return func(status string) {
		msg := fmt.Sprintf("STATUS=%s\nEXTEND_TIMEOUT_USEC=%d\n%s",
			status, (3 * settingUpInterval).Microseconds(), sddaemon.SdNotifyWatchdog)
		if _, err := sddaemon.SdNotify(false, msg); err != nil {
			log.Warn("sd_notify while setting up the device", zap.Error(err))
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
	_ = wait.PollUntilContextCancel(ctx, interval/2, false, func(context.Context) (bool, error) {
		if !healthy() {
			log.Warn("not pinging the systemd watchdog: podrund is unhealthy")
			return false, nil
		}
		if _, err := sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog); err != nil {
			log.Warn("sd_notify WATCHDOG=1", zap.Error(err))
		}
		return false, nil
	})
}
