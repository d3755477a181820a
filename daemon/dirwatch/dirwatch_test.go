package dirwatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestDebouncerWaits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name    string
		changes []time.Time // a burst, then the pass
		want    time.Duration
	}{
		{"one change waits quiet", []time.Time{ms(0)}, 200 * time.Millisecond},
		{"a later change restarts quiet", []time.Time{ms(0), ms(150)}, 200 * time.Millisecond},
		{"a burst is cut at maxDelay", []time.Time{ms(0), ms(500), ms(900)}, 100 * time.Millisecond},
		{"past maxDelay fires at once", []time.Time{ms(0), ms(1500)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := debouncer{quiet: 200 * time.Millisecond, maxDelay: time.Second}
			var got time.Duration
			for _, at := range tc.changes {
				got = d.signal(at)
			}
			if got != tc.want {
				t.Fatalf("wait after %v = %v, want %v", tc.changes, got, tc.want)
			}
		})
	}
	d := debouncer{quiet: 200 * time.Millisecond, maxDelay: time.Second}
	d.signal(ms(0))
	d.fired()
	if got := d.signal(ms(5000)); got != 200*time.Millisecond {
		t.Fatalf("after a pass a new burst starts afresh: wait %v", got)
	}
}

// TestDebounceLoopOnFakeClock drives the loop: a burst of signals gives one
// call, and only once the fake clock passed the quiet time.
func TestDebounceLoopOnFakeClock(t *testing.T) {
	fc := armClock{FakeClock: clocktesting.NewFakeClock(time.Unix(1000, 0)), armed: make(chan struct{})}
	in := make(chan struct{})
	fired := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		debounce(ctx, fc, 200*time.Millisecond, time.Second, in, func() { fired <- struct{}{} })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	for i := 0; i < 5; i++ {
		in <- struct{}{}
		<-fc.armed
		fc.Step(100 * time.Millisecond)
	}
	select {
	case <-fired:
		t.Fatal("fired inside the burst")
	case <-time.After(50 * time.Millisecond):
	}
	fc.Step(100 * time.Millisecond)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no call after the quiet time")
	}
	select {
	case <-fired:
		t.Fatal("a burst gave two calls")
	case <-time.After(50 * time.Millisecond):
	}
}

// armClock tells the test when the loop armed its timer, so that the
// fake clock is stepped only after.
type armClock struct {
	*clocktesting.FakeClock
	armed chan struct{}
}

func (c armClock) NewTimer(d time.Duration) clock.Timer {
	t := c.FakeClock.NewTimer(d)
	c.armed <- struct{}{}
	return t
}

// TestRunSeesRenameAndReplacedDirectory runs the real inotify watcher: a
// file renamed into the directory, an ignored name, and the directory
// replaced as a whole are each noticed (ignored names are not).
func TestRunSeesRenameAndReplacedDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "manifests") // created later: watched from the parent
	calls := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, dir, Options{Quiet: 20 * time.Millisecond,
			Relevant: func(name string) bool { return filepath.Ext(name) == ".yaml" }},
			func(context.Context) { calls <- struct{}{} })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-calls:
			if !want {
				t.Fatalf("%s: called", what)
			}
		case <-time.After(500 * time.Millisecond):
			if want {
				t.Fatalf("%s: not called", what)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // the watches are added in Run's first moments
	must(t, os.Mkdir(dir, 0o755))
	expect("directory created", true)
	must(t, os.WriteFile(filepath.Join(dir, "a.yaml.tmp"), []byte("x"), 0o644))
	expect("ignored tmp file written", false)
	must(t, os.Rename(filepath.Join(dir, "a.yaml.tmp"), filepath.Join(dir, "a.yaml")))
	expect("renamed over", true)
	next := filepath.Join(parent, "next")
	must(t, os.Mkdir(next, 0o755))
	must(t, os.WriteFile(filepath.Join(next, "b.yaml"), []byte("x"), 0o644))
	must(t, os.RemoveAll(dir))
	must(t, os.Rename(next, dir))
	expect("directory replaced", true)
	must(t, os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("x"), 0o644))
	expect("file in the replacing directory", true)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
