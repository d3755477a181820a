package bench

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Two sleep processes: each holds some distinct pages, at most its RSS; one
// named twice counts once; the two together hold less than the sum, since
// they share their binary's and libc's pages. Without CAP_SYS_ADMIN the
// frame numbers are hidden and that is the error.
func TestFramesMiB(t *testing.T) {
	var pids []int
	for range 2 {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	a, err := settledFrames(pids[0])
	if os.Geteuid() != 0 {
		if !errors.Is(err, errNoFrameNumbers) {
			t.Fatalf("not root: framesMiB gave %v MiB, error %v; want %v", a, err, errNoFrameNumbers)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := readProcStat(pids[0])
	if err != nil {
		t.Fatal(err)
	}
	if rss := float64(st.RSSKiB) / 1024; a <= 0 || a > rss+0.01 {
		t.Errorf("distinct pages of sleep %.2f MiB, RSS %.2f MiB: want some, at most the RSS", a, rss)
	}
	if twice, err := framesMiB(pids[0], pids[0]); err != nil || twice != a {
		t.Errorf("one process named twice: %.2f MiB (%v), once %.2f MiB", twice, err, a)
	}
	b, errB := settledFrames(pids[1])
	both, errBoth := framesMiB(pids...)
	if err := errors.Join(errB, errBoth); err != nil || both >= a+b || both < max(a, b) {
		t.Errorf("two sleeps: %.2f MiB together (%v), %.2f and %.2f alone: want their shared pages counted once", both, err, a, b)
	}
	if _, err := framesMiB(1 << 30); err == nil {
		t.Errorf("a process that does not exist: no error")
	}
}

// settledFrames is framesMiB of pid once two readings agree: a process
// just started still faults its pages in.
func settledFrames(pid int) (float64, error) {
	last, err := framesMiB(pid)
	for range 100 {
		time.Sleep(20 * time.Millisecond)
		now, err := framesMiB(pid)
		if err != nil || now == last {
			return now, err
		}
		last = now
	}
	return last, err
}
