package harness

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalRecorder records Fatalf and ends its goroutine, as testing.T does,
// so that Eventually's failure path can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls Eventually on its own goroutine and returns the failure, if
// any, and how many times check was asked.
func run(timeout time.Duration, check func(n int) string) (msg string, calls int) {
	r := &fatalRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(r, timeout, func() string { calls++; return check(calls) })
	}()
	<-done
	return r.msg, calls
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	msg, calls := run(time.Minute, func(n int) string {
		if n < 3 {
			return "not yet"
		}
		return ""
	})
	if msg != "" || calls != 3 {
		t.Errorf("failure %q after %d calls, want none after 3", msg, calls)
	}
}

func TestEventuallyFailsWithTheLastComplaint(t *testing.T) {
	msg, calls := run(0, func(n int) string { return fmt.Sprintf("complaint %d", n) })
	if calls != 1 || !strings.Contains(msg, "complaint 1") {
		t.Errorf("failure %q after %d calls, want the first complaint", msg, calls)
	}
}

// Check asks for the report only while the condition does not hold.
func TestCheckReportsOnlyWhileTheConditionFails(t *testing.T) {
	holds, asked := false, 0
	check := Check(func() string { asked++; return "seen" }, func() bool { return holds })
	if got := check(); got != "seen" || asked != 1 {
		t.Errorf("failing condition: %q after %d reports, want \"seen\" after 1", got, asked)
	}
	holds = true
	if got := check(); got != "" || asked != 1 {
		t.Errorf("holding condition: %q after %d reports, want \"\" and no new report", got, asked)
	}
}
