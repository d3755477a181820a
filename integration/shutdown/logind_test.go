package shutdown

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// fakeLogind stands in for systemd-logind's org.freedesktop.login1 on the
// private bus: Manager.Inhibit hands out the write end of a pipe, as logind
// hands out a FIFO's, and the lock counts as released when every copy of
// it is closed (the read end sees EOF); PrepareForShutdown is emitted on
// demand.
//
// Why not the real logind: /lib/systemd/systemd-logind (systemd 252) does
// start on a private bus here and hands out inhibitor locks, but PowerOff
// asks org.freedesktop.systemd1 for poweroff.target's load state first
// ("Failed to get load state of poweroff.target: The name
// org.freedesktop.systemd1 was not provided by any .service files") and
// fails before emitting PrepareForShutdown; with no systemd as PID 1 there
// is no systemd1 to ask, and a real one would power the machine off.
type fakeLogind struct {
	conn  *dbus.Conn
	locks chan *inhibitLock // every lock taken, in order
}

// inhibitLock is one Inhibit call.
type inhibitLock struct {
	What, Who, Mode string
	PID             int
	Taken           time.Time
	released        chan struct{}
	ReleasedAt      time.Time // valid once released is closed
}

// logindDefaultDelayMax is logind's InhibitDelayMaxSec when not configured.
const logindDefaultDelayMax = 5 * time.Second

const (
	login1Path  = dbus.ObjectPath("/org/freedesktop/login1")
	login1Iface = "org.freedesktop.login1.Manager"
)

func startLogind(t *testing.T, addr string) *fakeLogind {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the private bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	l := &fakeLogind{conn: conn, locks: make(chan *inhibitLock, 16)}
	if err := conn.ExportMethodTable(map[string]any{"Inhibit": l.inhibit}, login1Path, login1Iface); err != nil {
		t.Fatal(err)
	}
	// Properties.Get answers InhibitDelayMaxUSec with logind's default, 5 s.
	get := func(iface, name string) (dbus.Variant, *dbus.Error) {
		if iface == login1Iface && name == "InhibitDelayMaxUSec" {
			return dbus.MakeVariant(uint64(logindDefaultDelayMax / time.Microsecond)), nil
		}
		return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s.%s", iface, name))
	}
	if err := conn.ExportMethodTable(map[string]any{"Get": get}, login1Path, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.login1: %v (reply %d)", err, reply)
	}
	return l
}

// inhibit is Manager.Inhibit(what, who, why, mode) -> h (a file descriptor).
func (l *fakeLogind) inhibit(sender dbus.Sender, what, who, why, mode string) (dbus.UnixFD, *dbus.Error) {
	r, w, err := os.Pipe()
	if err != nil {
		return -1, dbus.MakeFailedError(err)
	}
	lock := &inhibitLock{What: what, Who: who, Mode: mode, Taken: time.Now(), released: make(chan struct{})}
	go l.track(string(sender), lock, r, w)
	return dbus.UnixFD(w.Fd()), nil
}

// track closes the stand-in's own copy of the write end once the caller
// holds it (the reply is sent after inhibit returns), then waits for EOF:
// the caller closed its copy, the lock is released.
func (l *fakeLogind) track(sender string, lock *inhibitLock, r, w *os.File) {
	defer r.Close()
	var pid uint32
	err := l.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, sender).Store(&pid)
	if err == nil {
		lock.PID = int(pid)
		var st syscall.Stat_t
		if err = syscall.Fstat(int(w.Fd()), &st); err == nil {
			waitHolds(lock.PID, fmt.Sprintf("pipe:[%d]", st.Ino))
		}
	}
	w.Close()
	l.locks <- lock
	_, _ = io.Copy(io.Discard, r)
	lock.ReleasedAt = time.Now()
	close(lock.released)
}

// waitHolds waits until process pid has a descriptor linked to target.
func waitHolds(pid int, target string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && l == target {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *fakeLogind) prepareForShutdown(t *testing.T, starting bool) {
	t.Helper()
	if err := l.conn.Emit(login1Path, login1Iface+".PrepareForShutdown", starting); err != nil {
		t.Fatalf("emit PrepareForShutdown(%v): %v", starting, err)
	}
}

// nextLock waits for the next Inhibit call of process pid (older callers'
// locks, such as a podrund that was restarted, are passed over).
func (l *fakeLogind) nextLock(t *testing.T, pid int, timeout time.Duration) *inhibitLock {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case lock := <-l.locks:
			if lock.PID == pid {
				return lock
			}
		case <-deadline:
			t.Fatalf("podrund (pid %d) took no logind inhibitor lock within %v", pid, timeout)
		}
	}
}
