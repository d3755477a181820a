package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The PID namespace of a pod with shareProcessNamespace cannot be pinned by a
// bind mount alone: once its init process is gone the kernel refuses new
// members. podrun keeps it alive with a holder: the running binary
// (/proc/self/exe) re-executed with holderEnv set, in a new PID namespace,
// where it is PID 1. The package's init sees holderEnv and, instead of
// running the program, becomes the pod's init: it reaps orphans, as the
// kubelet's pause container does, until Remove SIGKILLs it. Killing it makes
// the kernel kill every process left in the namespace.
//
// The holder survives a podrund restart (it is only re-parented). A systemd
// unit must therefore use KillMode=process, as containerd's and k3s' do.
const holderEnv = "PODRUN_PIDNS_HOLDER"

func init() {
	if os.Getenv(holderEnv) == "1" && os.Getpid() == 1 {
		os.Exit(runHolder())
	}
}

// runHolder is the body of the PID namespace holder.
func runHolder() int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD)
	for range sigs {
		for {
			pid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}

// startPIDHolder starts the holder in a new PID namespace and pins that
// namespace at <dir>/pid so that containers can join it by path.
func startPIDHolder(dir string) (int, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{holderEnv + "=1"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start pid namespace holder: %w", err)
	}
	pid := cmd.Process.Pid
	// Reap it when it is killed while this process still runs; after a
	// podrund restart init reaps it.
	go func() { _ = cmd.Wait() }()
	src := fmt.Sprintf("/proc/%d/ns/pid", pid)
	if err := bindNamespace(src, filepath.Join(dir, "pid")); err != nil {
		_ = cmd.Process.Kill()
		return 0, err
	}
	return pid, nil
}

// holderAlive reports whether pid is still the process whose PID namespace
// is pinned at <dir>/pid (a recycled pid has another namespace).
func holderAlive(dir string, pid int) bool {
	if pid <= 0 {
		return false
	}
	var pinned, cur unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "pid"), &pinned); err != nil {
		return false
	}
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/pid", pid), &cur); err != nil {
		return false
	}
	return pinned.Ino == cur.Ino && pinned.Dev == cur.Dev
}

// stopPIDHolder kills the holder (and with it every process left in the
// pod's PID namespace), waits until it is gone, and unpins the namespace.
func stopPIDHolder(dir string, pid int) error {
	if holderAlive(dir, pid) {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill pid namespace holder %d: %w", pid, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for holderAlive(dir, pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return unpinNamespace(filepath.Join(dir, "pid"))
}
