package harness

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually asks again: often enough that a test
// waits little past the moment its condition holds, seldom enough that
// the polling does not load a shared machine.
const pollEvery = 200 * time.Millisecond

// Eventually asks check until it returns "" (the condition holds) or
// timeout passes; then the test fails with check's last complaint, which
// should say what was wanted and what was seen.
func Eventually(t testing.TB, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(pollEvery)
	}
}

// Check makes a check for Eventually of a condition and a report of what
// was seen, asked only while the condition does not hold.
func Check(seen func() string, cond func() bool) func() string {
	return func() string {
		if cond() {
			return ""
		}
		return seen()
	}
}
