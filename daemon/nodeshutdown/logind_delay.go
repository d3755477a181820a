package nodeshutdown

import (
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"go.uber.org/zap"
)

// logindDelayProperty is how long logind lets a delay inhibitor lock hold
// a shutdown back (InhibitDelayMaxSec in logind.conf; 5 s by default).
const logindDelayProperty = "org.freedesktop.login1.Manager.InhibitDelayMaxUSec"

// ReadLogindDelayMax asks logind on the system bus for its delay limit,
// on a connection of its own that it closes.
func ReadLogindDelayMax() (time.Duration, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return 0, fmt.Errorf("connect to the system bus: %w", err)
	}
	defer conn.Close()
	v, err := conn.Object("org.freedesktop.login1", "/org/freedesktop/login1").GetProperty(logindDelayProperty)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", logindDelayProperty, err)
	}
	us, ok := v.Value().(uint64)
	if !ok {
		return 0, fmt.Errorf("read %s: a %T, not microseconds", logindDelayProperty, v.Value())
	}
	return time.Duration(us) * time.Microsecond, nil
}

// CheckLogindDelay warns, with the fix, when logind would end the host
// shutdown before podrund's grace is up: the pods would then be killed by
// the host, out of pod order. It reports whether the limit is long enough
// (true too when it cannot be read: nothing to say then but an info line).
func CheckLogindDelay(log *zap.Logger, grace time.Duration, read func() (time.Duration, error)) bool {
	limit, err := read()
	if err != nil {
		log.Info("cannot read logind's inhibitor delay limit; the pods' shutdown grace may be cut short", zap.Error(err))
		return true
	}
	if limit >= grace {
		return true
	}
	secs := int((grace + 15*time.Second).Round(time.Second).Seconds())
	log.Warn("logind ends a host shutdown before the pods' shutdown grace is up: pods may be killed out of pod order",
		zap.Duration("inhibitDelayMax", limit), zap.Duration("shutdownGracePeriod", grace),
		zap.String("fix", fmt.Sprintf("printf '[Login]\\nInhibitDelayMaxSec=%d\\n' > /etc/systemd/logind.conf.d/podrund.conf && systemctl kill -s HUP systemd-logind (scripts/install-systemd.sh installs it)", secs)))
	return false
}
