package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodWatch follows one pod through the daemon's watch stream
// (GET .../pods?watch=true&fieldSelector=metadata.name=NAME) and keeps every
// version it saw, so tests can check sequences, not just end states.
type PodWatch struct {
	c       *Client
	name    string
	cancel  context.CancelFunc
	mu      sync.Mutex
	history []WatchedPod
	changed chan struct{} // closed and replaced on every event
	err     error
	done    bool
}

// WatchedPod is one event of the stream.
type WatchedPod struct {
	Type string // ADDED, MODIFIED, DELETED
	At   time.Time
	Pod  *corev1.Pod
}

// Watch starts following pod name; Stop ends it (also at test cleanup).
func (c *Client) Watch(name string) *PodWatch {
	c.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &PodWatch{c: c, name: name, cancel: cancel, changed: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://podrund"+c.PodPath("")+"?watch=true&fieldSelector=metadata.name="+name, nil)
	if err != nil {
		c.T.Fatalf("watch request: %v", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		c.T.Fatalf("watch pod %s: %v", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		c.T.Fatalf("watch pod %s: HTTP %s", name, resp.Status)
	}
	go w.read(resp)
	c.T.Cleanup(w.Stop)
	return w
}

func (w *PodWatch) read(resp *http.Response) {
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ev struct {
			Type   string     `json:"type"`
			Object corev1.Pod `json:"object"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			w.finish(fmt.Errorf("decode watch event %q: %w", line, err))
			return
		}
		if ev.Object.Name != w.name {
			continue
		}
		w.mu.Lock()
		w.history = append(w.history, WatchedPod{Type: ev.Type, At: time.Now(), Pod: &ev.Object})
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
	w.finish(sc.Err())
}

func (w *PodWatch) finish(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		err = fmt.Errorf("watch stream ended")
	}
	if w.err == nil {
		w.err = err
	}
	w.done = true
	close(w.changed)
	w.changed = make(chan struct{})
}

// Stop ends the watch.
func (w *PodWatch) Stop() { w.cancel() }

// History returns every event seen so far.
func (w *PodWatch) History() []WatchedPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WatchedPod(nil), w.history...)
}

// Last returns the newest version seen (nil if none).
func (w *PodWatch) Last() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.history) == 0 {
		return nil
	}
	return w.history[len(w.history)-1].Pod
}

// Until waits until cond holds for an event (checking the history first)
// and returns that pod; it fails the test at timeout, naming what.
func (w *PodWatch) Until(what string, timeout time.Duration, cond func(ev WatchedPod) bool) *corev1.Pod {
	w.c.T.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		w.mu.Lock()
		hist := w.history[seen:]
		seen = len(w.history)
		ch, done, err := w.changed, w.done, w.err
		w.mu.Unlock()
		for _, ev := range hist {
			if cond(ev) {
				return ev.Pod
			}
		}
		if done {
			w.c.T.Fatalf("waiting for pod %s: %s: %v; last status:\n%s", w.name, what, err, Describe(w.Last()))
		}
		select {
		case <-ch:
		case <-deadline:
			w.c.T.Fatalf("timed out after %v waiting for pod %s: %s; last status:\n%s",
				timeout, w.name, what, Describe(w.Last()))
		}
	}
}

// UntilPod is Until on the pod alone (events of type DELETED included).
func (w *PodWatch) UntilPod(what string, timeout time.Duration, cond func(p *corev1.Pod) bool) *corev1.Pod {
	w.c.T.Helper()
	return w.Until(what, timeout, func(ev WatchedPod) bool { return cond(ev.Pod) })
}

// UntilDeleted waits for the DELETED event and returns its final object.
func (w *PodWatch) UntilDeleted(timeout time.Duration) *corev1.Pod {
	w.c.T.Helper()
	return w.Until("DELETED event", timeout, func(ev WatchedPod) bool { return ev.Type == "DELETED" })
}

// WaitFor watches pod name until cond holds.
func (c *Client) WaitFor(name, what string, timeout time.Duration, cond func(p *corev1.Pod) bool) *corev1.Pod {
	c.T.Helper()
	w := c.Watch(name)
	defer w.Stop()
	return w.UntilPod(what, timeout, cond)
}

// Describe renders the parts of a pod status tests care about, for failures.
func Describe(p *corev1.Pod) string {
	if p == nil {
		return "<no pod seen>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%q deletion=%v\n", p.Status.Phase, p.Status.Reason, p.DeletionTimestamp != nil)
	for _, cd := range p.Status.Conditions {
		fmt.Fprintf(&b, "  condition %s=%s %s\n", cd.Type, cd.Status, cd.Reason)
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			fmt.Fprintf(&b, "  %s: %s restarts=%d ready=%v started=%v last=%s\n", s.Name, StateString(s.State),
				s.RestartCount, s.Ready, s.Started != nil && *s.Started, StateString(s.LastTerminationState))
		}
	}
	return b.String()
}

// StateString is a short form of a container state.
func StateString(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running"
	case s.Terminated != nil:
		return fmt.Sprintf("Terminated(%s,%d)", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "Waiting(" + s.Waiting.Reason + ")"
	}
	return "-"
}
