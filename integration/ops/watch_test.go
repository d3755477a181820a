package ops

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// follow runs a watching podctl and collects its output lines until stop.
func follow(t *testing.T, c *harness.Client, args ...string) (lines func() []string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd, out, _ := c.StartPodctl(ctx, args...)
	ch := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	var got []string
	lines = func() []string {
		for {
			select {
			case l, ok := <-ch:
				if !ok {
					return got
				}
				got = append(got, l)
			default:
				return got
			}
		}
	}
	stop = func() {
		cancel()
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	return lines, stop
}

func until(t *testing.T, what string, timeout time.Duration, lines func() []string, cond func([]string) bool) []string {
	t.Helper()
	var l []string
	harness.Eventually(t, timeout, func() string {
		if l = lines(); cond(l) {
			return ""
		}
		return what + ": never happened; lines:\n" + strings.Join(l, "\n")
	})
	return l
}

func indexOf(lines []string, substrs ...string) int {
	for i, l := range lines {
		all := true
		for _, s := range substrs {
			all = all && strings.Contains(l, s)
		}
		if all {
			return i
		}
	}
	return -1
}

// get events -w and get pod -w against the real daemon: the events of a
// pod arrive in the order they happened, the pod's status changes follow.
func TestWatchEventsAndPodInOrder(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	evs, _ := follow(t, c, "get", "events", "-w")
	pods, _ := follow(t, c, "get", "pods", "-w")
	time.Sleep(500 * time.Millisecond) // the watches are subscribed before the pod exists
	c.Apply(harness.PodManifest("once", `
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.28
    command: ["sh", "-c", "echo hi"]
`))
	got := until(t, "Started event", time.Minute, evs, func(l []string) bool { return indexOf(l, "Started", "main") >= 0 })
	created, started := indexOf(got, "Created", "main"), indexOf(got, "Started", "main")
	if created < 0 || created > started {
		t.Fatalf("events out of order:\n%s", strings.Join(got, "\n"))
	}
	gp := until(t, "Completed", time.Minute, pods, func(l []string) bool { return indexOf(l, "once", "Completed") >= 0 })
	// The pod shows up before it has run, then changes: not one final line.
	if first := indexOf(gp, "once"); first < 0 || strings.Contains(gp[first], "Completed") {
		t.Fatalf("pod watch:\n%s", strings.Join(gp, "\n"))
	}
	if !strings.HasPrefix(strings.Join(strings.Fields(gp[0]), " "), "NAME READY STATUS RESTARTS AGE") {
		t.Fatalf("pod watch has no header:\n%s", strings.Join(gp, "\n"))
	}
}
