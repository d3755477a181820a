package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

// waitLimit bounds every real-time waitLimit of the tests.
const waitLimit = 5 * time.Second

// execCall is one Exec seen by the fake runtime.
type execCall struct {
	instance string
	command  []string
}

// execFunc scripts the fake runtime's answer to an Exec.
type execFunc func(ctx context.Context, instance string, cmd []string, out io.Writer) (int, error)

// fakeProber runs exec from a script and dials for real (loopback servers
// started by the test stand in for the pod's network namespace).
type fakeProber struct {
	mu     sync.Mutex
	script execFunc
	calls  chan execCall
	dialed chan string
}

func newFakeProber(script execFunc) *fakeProber {
	return &fakeProber{script: script, calls: make(chan execCall, 1000), dialed: make(chan string, 1000)}
}

func (f *fakeProber) Exec(ctx context.Context, instance string, req ExecRequest) (int, error) {
	f.mu.Lock()
	script := f.script
	f.mu.Unlock()
	select {
	case f.calls <- execCall{instance: instance, command: req.Command}:
	default:
	}
	return script(ctx, instance, req.Command, req.Stdout)
}

func (f *fakeProber) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	if pod == nil {
		return nil, errors.New("dial without a pod")
	}
	select {
	case f.dialed <- address:
	default:
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// execScript scripts exec results per command name (cmd[0]): each call takes
// the next exit code; past the end the last one repeats.
type execScript struct {
	mu    sync.Mutex
	codes map[string][]int
}

func (r *execScript) exec(ctx context.Context, _ string, cmd []string, out io.Writer) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	codes := r.codes[cmd[0]]
	if len(codes) == 0 {
		return 0, nil
	}
	code := codes[0]
	if len(codes) > 1 {
		r.codes[cmd[0]] = codes[1:]
	}
	_, _ = io.WriteString(out, cmd[0]+" output")
	return code, nil
}

func (r *execScript) set(name string, codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes[name] = codes
}

func newExecScript() *execScript { return &execScript{codes: map[string][]int{}} }

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Status:     corev1.PodStatus{PodIP: "127.0.0.1"},
	}
}

func execProbeSpec(name string, period, failure, success int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{name}}},
		PeriodSeconds:    period,
		TimeoutSeconds:   1,
		FailureThreshold: failure,
		SuccessThreshold: success,
	}
}

// scriptedManager is a manager over a fake prober whose exec probes
// answer from a script: res.set(name, codes...) gives the exit codes of
// the probe named name.
func scriptedManager() (res *execScript, f *fakeProber, m *Manager, clk *testingclock.FakeClock) {
	res = newExecScript()
	f = newFakeProber(res.exec)
	m, clk = newTestManager(f)
	return res, f, m, clk
}

// addApp adds c as instance i1 of pod p, started now, and removes it
// when the test ends.
func addApp(t *testing.T, m *Manager, clk *testingclock.FakeClock, c *corev1.Container) {
	m.AddInstance(testPod("p"), c, "i1", clk.Now())
	t.Cleanup(func() { m.RemoveInstance("i1") })
}

func newTestManager(p Prober) (*Manager, *testingclock.FakeClock) {
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return NewManager(p, clk, nil), clk
}

// nextCall waits for the next exec with command name; calls of other
// commands are skipped.
func nextCall(t *testing.T, f *fakeProber, name string) execCall {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case c := <-f.calls:
			if c.command[0] == name {
				return c
			}
		case <-deadline:
			t.Fatalf("no %s probe within %v", name, waitLimit)
		}
	}
}

// callsOf waits until each named command has been executed once, in any
// order; other commands are skipped.
func callsOf(t *testing.T, f *fakeProber, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deadline := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case c := <-f.calls:
			delete(want, c.command[0])
		case <-deadline:
			t.Fatalf("probes %v did not run within %v", want, waitLimit)
		}
	}
}

// noCall asserts that no exec with command name arrives for a short while.
func noCall(t *testing.T, f *fakeProber, name string) {
	t.Helper()
	deadline := time.After(150 * time.Millisecond)
	for {
		select {
		case c := <-f.calls:
			if c.command[0] == name {
				t.Fatalf("unexpected %s probe", name)
			}
		case <-deadline:
			return
		}
	}
}

// isFailureNotice tells a failed attempt that did not (yet) change the
// result: it carries the unchanged result with Failed set, only for the
// Unhealthy event. The result tests look past these; TestFailureNotices
// checks them.
func isFailureNotice(u results.Update) bool { return u.Failed && u.Result != results.Failure }

func nextUpdate(t *testing.T, m *Manager) results.Update {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case u := <-m.Updates():
			if isFailureNotice(u) {
				continue
			}
			return u
		case <-deadline:
			t.Fatalf("no update within %v", waitLimit)
			return results.Update{}
		}
	}
}

func noUpdate(t *testing.T, m *Manager) {
	t.Helper()
	quiet := time.After(150 * time.Millisecond)
	for {
		select {
		case u := <-m.Updates():
			if isFailureNotice(u) {
				continue
			}
			t.Fatalf("unexpected update %+v", u)
		case <-quiet:
			return
		}
	}
}

func expectUpdate(t *testing.T, m *Manager, kind results.Kind, r results.Result) results.Update {
	t.Helper()
	u := nextUpdate(t, m)
	if u.Kind != kind || u.Result != r {
		t.Fatalf("update = %s %s (%q), want %s %s", u.Kind, u.Result, u.Output, kind, r)
	}
	return u
}
