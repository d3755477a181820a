package harness

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Order files: test containers append "<uptime> <name> <event>" lines to
// /shared/order.log, a hostPath below Client.HostDir, so that a test can
// check the order in which things happened inside the pods, not how long
// they took. Host uptime is what every container of the host reads alike.

// OrderFile is the name of the order file in the shared dir.
const OrderFile = "order.log"

// OrderMark is shell that appends "<uptime> name event" to the order file;
// name may be a shell expansion such as $POD_NAME. It is one compound
// command of shell builtins: no process is forked, so a mark in a TERM
// trap is written within the grace period even when the container gets
// little CPU (a BestEffort container's 2 CPU shares on a loaded host; a
// forked cut took longer than a 2 s grace under PODRUN_STRESS=1).
func OrderMark(name, event string) string {
	return fmt.Sprintf(`{ read -r _up _idle < /proc/uptime; echo "$_up %s %s" >> /shared/%s; }`, name, event, OrderFile)
}

// OrderLine is one line of an order file.
type OrderLine struct {
	At    float64 // host uptime, seconds
	Name  string  // a container's or a pod's
	Event string  // the rest of the line
}

func (l OrderLine) String() string { return fmt.Sprintf("%.2f %s %s", l.At, l.Name, l.Event) }

// Order is the lines of an order file, in the order they were appended.
type Order []OrderLine

// ParseOrder parses an order file; lines with fewer than three fields (a
// line being written) are passed over.
func ParseOrder(raw string) (Order, error) {
	var out Order
	for _, line := range strings.Split(strings.TrimSpace(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		at, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return out, fmt.Errorf("order line %q: %w", line, err)
		}
		out = append(out, OrderLine{At: at, Name: f[1], Event: strings.Join(f[2:], " ")})
	}
	return out, nil
}

// Index returns the position of the first line of name with event, or -1;
// name "" matches any name.
func (o Order) Index(name, event string) int {
	for i, l := range o {
		if (name == "" || l.Name == name) && l.Event == event {
			return i
		}
	}
	return -1
}

// Find is Index of a step written "name event".
func (o Order) Find(step string) int {
	name, event, _ := strings.Cut(step, " ")
	return o.Index(name, event)
}

// Count returns how many lines of name (any when "") have event.
func (o Order) Count(name, event string) int {
	n := 0
	for _, l := range o {
		if (name == "" || l.Name == name) && l.Event == event {
			n++
		}
	}
	return n
}

// ByTime returns the lines sorted by uptime, stable for equal times: the
// order across pods that write one file, whose appends may interleave.
func (o Order) ByTime() Order {
	out := append(Order(nil), o...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// String renders the lines one a line, indented, for failure messages.
func (o Order) String() string {
	var b strings.Builder
	for _, l := range o {
		b.WriteString("  " + l.String() + "\n")
	}
	return b.String()
}

// ReadOrder reads the order file in HostDir/dir ("" for HostDir itself);
// a missing file is an empty order, a malformed line fails the test.
func (c *Client) ReadOrder(dir string) Order {
	c.T.Helper()
	o, err := ParseOrder(c.ReadHostFile(filepath.Join(dir, OrderFile)))
	if err != nil {
		c.T.Fatalf("order file of %q: %v", dir, err)
	}
	return o
}

// WaitOrderUntil reads the order file in HostDir/dir until cond holds, and
// fails the test at timeout naming what it waited for. It polls: the file
// is written by the containers, not the daemon, so no watch tells of it.
func (c *Client) WaitOrderUntil(dir, what string, timeout time.Duration, cond func(Order) bool) Order {
	c.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o := c.ReadOrder(dir)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("order file of %q: no %s after %v:\n%s", dir, what, timeout, o)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitOrder waits until every step ("name event") is in the order file of
// HostDir/dir: a container can be reported running before its first line.
func (c *Client) WaitOrder(dir string, timeout time.Duration, steps ...string) Order {
	c.T.Helper()
	return c.WaitOrderUntil(dir, fmt.Sprintf("%q", steps), timeout, func(o Order) bool {
		for _, s := range steps {
			if o.Find(s) < 0 {
				return false
			}
		}
		return true
	})
}

// ExpectOrder checks that the first occurrences of steps ("name event")
// are all in o, in this order.
func ExpectOrder(t testing.TB, o Order, steps ...string) {
	t.Helper()
	last := -1
	for i, s := range steps {
		j := o.Find(s)
		if j < 0 {
			t.Errorf("order: %q never happened:\n%s", s, o)
			return
		}
		if j < last {
			t.Errorf("order: %q came before %q:\n%s", s, steps[i-1], o)
			return
		}
		last = j
	}
}
