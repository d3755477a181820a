package poll

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	var calls atomic.Int32
	if !Within(time.Minute, time.Millisecond, func() bool { return calls.Add(1) == 3 }) {
		t.Fatal("a condition that comes true was not seen")
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("cond called %d times, want 3 (it must stop once true)", n)
	}
	if Within(20*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported to hold")
	}
}
