package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
)

// Stress mode: PODRUN_STRESS=1 runs the tests next to one CPU hog per
// core, so that podrund, containerd, the shims and the containers all
// wait for a CPU. A race between two of them shows up there within a few
// runs instead of once in a full suite on a loaded machine. The hogs are
// separate processes (niced 0, like everything else the tests start) so
// that they compete with podrund and containerd the way other work on the
// host does, not only with the test binary's goroutines.
const (
	stressEnv = "PODRUN_STRESS"
	// hogEnv marks a re-executed test binary as a hog: it spins and
	// never runs a test.
	hogEnv = "PODRUN_STRESS_HOG"
)

// Hogs are the CPU hogs of stress mode.
type Hogs struct {
	cmds    []*exec.Cmd
	release chan struct{} // lets the thread that started the hogs go
}

// StressRequested reports whether PODRUN_STRESS asks for stress mode.
func StressRequested() bool {
	v := os.Getenv(stressEnv)
	return v != "" && v != "0"
}

// RunHogIfAsked turns this process into a CPU hog, for good, when it was
// started as one by StartHogs. Call it first thing in TestMain.
func RunHogIfAsked() {
	if os.Getenv(hogEnv) != "1" {
		return
	}
	runtime.GOMAXPROCS(1)
	var spins atomic.Uint64 // keeps the loop from being an empty spin
	for {
		spins.Add(1)
	}
}

// StartHogs starts n CPU hogs: copies of this test binary that spin. They
// die with the test binary (parent-death signal) even when it cannot
// run its cleanup; Stop ends them otherwise. The parent-death signal
// follows the thread that forked, not the process, so the hogs are
// started from a locked thread that lives until Stop.
func StartHogs(n int) (*Hogs, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("stress: find the test binary: %w", err)
	}
	release := make(chan struct{})
	h := &Hogs{release: release}
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range n {
			cmd := exec.Command(self, "-test.run=^$")
			cmd.Env = append(os.Environ(), hogEnv+"=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
			if err := cmd.Start(); err != nil {
				started <- fmt.Errorf("stress: start hog: %w", err)
				<-release
				return
			}
			h.cmds = append(h.cmds, cmd)
		}
		started <- nil
		<-release
	}()
	if err := <-started; err != nil {
		return nil, errors.Join(err, h.Stop())
	}
	return h, nil
}

// Stop kills the hogs and waits for them, so none is left behind.
func (h *Hogs) Stop() error {
	if h == nil {
		return nil
	}
	var errs []error
	for _, cmd := range h.cmds {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("stress: kill hog %d: %w", cmd.Process.Pid, err))
		}
		_ = cmd.Wait() // killed: the error only says so
	}
	h.cmds = nil
	if h.release != nil {
		close(h.release)
		h.release = nil
	}
	return errors.Join(errs...)
}

// Count is how many hogs run.
func (h *Hogs) Count() int {
	if h == nil {
		return 0
	}
	return len(h.cmds)
}
