package harness

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// EventFilter selects events of a client's namespace; an empty field
// matches anything.
type EventFilter struct {
	Object    string // involvedObject.name: a pod, a Job
	Container string // the container named by involvedObject.fieldPath (spec.containers{NAME})
	Type      string // Normal or Warning
	Reason    string
	Message   string // a part of the message
}

// Matches tells whether f selects e.
func (f EventFilter) Matches(e corev1.Event) bool {
	switch {
	case f.Object != "" && e.InvolvedObject.Name != f.Object:
		return false
	case f.Container != "" && !strings.HasSuffix(e.InvolvedObject.FieldPath, "{"+f.Container+"}"):
		return false
	case f.Type != "" && e.Type != f.Type:
		return false
	case f.Reason != "" && e.Reason != f.Reason:
		return false
	}
	return strings.Contains(e.Message, f.Message)
}

// String names what f selects, for failure messages.
func (f EventFilter) String() string {
	s := "event"
	if f.Type != "" {
		s = f.Type + " " + s
	}
	if f.Reason != "" {
		s += " " + f.Reason
	}
	if f.Message != "" {
		s += fmt.Sprintf(" %q", f.Message)
	}
	if f.Object != "" {
		s += " about " + f.Object
		if f.Container != "" {
			s += "/" + f.Container
		}
	}
	return s
}

// EventsMatching returns the events of c's namespace that f selects, in the
// order podctl lists them.
func (c *Client) EventsMatching(f EventFilter) []corev1.Event {
	c.T.Helper()
	var out []corev1.Event
	for _, e := range c.Events() {
		if f.Matches(e) {
			out = append(out, e)
		}
	}
	return out
}

// FindEvent polls the event list until an event matches f and returns it;
// ok is false after timeout. It polls because events have no watch here,
// and an event is recorded apart from the status change it explains, so it
// may show up just after that change is seen.
func (c *Client) FindEvent(f EventFilter, timeout time.Duration) (ev corev1.Event, ok bool) {
	c.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if evs := c.EventsMatching(f); len(evs) > 0 {
			return evs[0], true
		}
		if time.Now().After(deadline) {
			return corev1.Event{}, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitEvent is FindEvent that fails the test at timeout, listing the
// events of f's object.
func (c *Client) WaitEvent(f EventFilter, timeout time.Duration) corev1.Event {
	c.T.Helper()
	ev, ok := c.FindEvent(f, timeout)
	if !ok {
		c.T.Fatalf("no %s within %v; events:\n%s", f, timeout,
			DescribeEvents(c.EventsMatching(EventFilter{Object: f.Object})))
	}
	return ev
}

// DescribeEvents renders events one a line, for failure messages.
func DescribeEvents(evs []corev1.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s %s x%d %s: %s\n", e.InvolvedObject.Name, e.InvolvedObject.FieldPath,
			e.Reason, e.Count, e.Type, e.Message)
	}
	return b.String()
}
