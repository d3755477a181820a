package supervisor

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// minStopWindow is the minimum time between the stop signal and SIGKILL (R58).
const minStopWindow int64 = 2

// terminationOrdering is the kubelet's terminationOrdering (R63): one
// channel per container, closed when it stops; a sidecar waits for every
// regular container and every sidecar declared after it.
type terminationOrdering struct {
	mu         sync.Mutex // containerTerminated is called by kills and the worker
	terminated map[string]chan struct{}
	prereqs    map[string][]chan struct{}
}

// newTerminationOrdering builds the ordering for pod; containers not in
// running count as already terminated.
func newTerminationOrdering(pod *corev1.Pod, running map[string]bool) *terminationOrdering {
	o := &terminationOrdering{terminated: map[string]chan struct{}{}, prereqs: map[string][]chan struct{}{}}
	add := func(name string) chan struct{} {
		ch := make(chan struct{})
		if !running[name] {
			close(ch)
		}
		o.terminated[name] = ch
		return ch
	}
	var regular []chan struct{}
	for i := range pod.Spec.Containers {
		regular = append(regular, add(pod.Spec.Containers[i].Name))
	}
	for i := range pod.Spec.InitContainers {
		add(pod.Spec.InitContainers[i].Name)
	}
	var later []chan struct{}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		c := &pod.Spec.InitContainers[i]
		if !isSidecar(c) {
			continue
		}
		o.prereqs[c.Name] = append(append([]chan struct{}{}, regular...), later...)
		later = append(later, o.terminated[c.Name])
	}
	return o
}

// turn returns a channel closed once every container that name waits for
// has terminated (R63); closing stop abandons the wait.
func (o *terminationOrdering) turn(name string, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	pre := o.prereqs[name]
	go func() {
		for _, ch := range pre {
			select {
			case <-ch:
			case <-stop:
				return
			}
		}
		close(done)
	}()
	return done
}

// containerTerminated marks name stopped for the ordering.
func (o *terminationOrdering) containerTerminated(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ch, ok := o.terminated[name]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

// podGrace is the grace of one pod termination, shared by all its kills;
// it can only shrink (R61: a second delete with a shorter grace).
type terminationGrace struct {
	mu     sync.Mutex
	grace  int64
	shrunk chan struct{} // closed and replaced on every shrink
}

func newTerminationGrace(g int64) *terminationGrace {
	return &terminationGrace{grace: g, shrunk: make(chan struct{})}
}

func (g *terminationGrace) current() (int64, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.grace, g.shrunk
}

func (g *terminationGrace) shrink(n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n < g.grace {
		g.grace = n
		close(g.shrunk)
		g.shrunk = make(chan struct{})
	}
}

// killRequest is one kill of one running instance.
type killRequest struct {
	Pod        *corev1.Pod
	Container  *corev1.Container
	InstanceID string
	Grace      int64 // seconds, before the preStop/turn deductions
	Ordering   *terminationOrdering
	Reason     string
	Message    string
	// PodGrace, in a pod termination, caps Grace at the pod's current
	// grace minus Offset (seconds between termination start and this kill).
	PodGrace *terminationGrace
	Offset   int64
	// signalled, when set, hears when the stop signal is sent (after the
	// preStop hook and the ordering turn) for the timeline's kill mark.
	signalled func(at time.Time)
}

// budget is the kill's grace now (R58 step 1, R61).
func (r *killRequest) budget() (int64, <-chan struct{}) {
	if r.PodGrace == nil {
		return r.Grace, nil
	}
	g, shrunk := r.PodGrace.current()
	return min(r.Grace, g-r.Offset), shrunk
}

// killer runs kills; it is shared by every kill goroutine of a pod.
type killer struct {
	rt      Runtime
	clk     clock.WithTicker
	runHook HookRunner
	events  *eventRecorder
}

// kill is the kubelet's killContainer (R54, R58): Killing event, preStop
// within the grace, the ordering turn, then stop signal and SIGKILL after
// at least 2 s. Deductions are whole seconds, as upstream. The ordering is
// told when the instance stopped, and only then: a stop that failed left
// it running, and the sidecars waiting for it must go on waiting (R63)
// until the retried kill or its exit ends it.
func (k *killer) kill(ctx context.Context, r killRequest) error {
	name := r.Container.Name
	msg := r.Message
	if msg == "" {
		msg = fmt.Sprintf("Stopping container %s", name)
	}
	k.events.container(ctx, r.Pod, name, corev1.EventTypeNormal, "Killing", msg)
	start := k.clk.Now()
	var used int64
	if h := preStop(r.Container); h != nil && k.runHook != nil {
		if g, _ := r.budget(); g > 0 {
			// An abandoned hook keeps running until the container is gone
			// (R54); then it is cancelled so no goroutine outlives the kill.
			hookCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			used += int64(k.waitBudget(ctx, &r, k.startPreStop(hookCtx, r, h), used).Seconds())
		}
	}
	if r.Ordering != nil {
		if g, _ := r.budget(); g-used > 0 {
			stop := make(chan struct{})
			used += int64(k.waitBudget(ctx, &r, r.Ordering.turn(name, stop), used).Seconds())
			close(stop)
		}
	}
	g, _ := r.budget()
	err := k.stop(ctx, &r, start, max(g-used, minStopWindow))
	if err == nil && r.Ordering != nil {
		r.Ordering.containerTerminated(name)
	}
	return err
}

// waitBudget waits for done at most the budget left after used seconds;
// a shrinking pod grace shortens the wait (R61). It returns the time waited.
func (k *killer) waitBudget(ctx context.Context, r *killRequest, done <-chan struct{}, used int64) time.Duration {
	start := k.clk.Now()
	for {
		g, shrunk := r.budget()
		left := time.Duration(g-used)*time.Second - k.clk.Since(start)
		if left <= 0 {
			return k.clk.Since(start)
		}
		t := k.clk.NewTimer(left)
		select {
		case <-done:
		case <-t.C():
		case <-ctx.Done():
		case <-shrunk:
			t.Stop()
			continue
		}
		t.Stop()
		return k.clk.Since(start)
	}
}

// stop sends the stop signal with grace seconds before SIGKILL; if the pod
// grace shrinks meanwhile, the runtime is asked again with what is left.
func (k *killer) stop(ctx context.Context, r *killRequest, start time.Time, grace int64) error {
	errc := make(chan error, 4)
	pending := 1
	if r.signalled != nil {
		r.signalled(k.clk.Now())
	}
	go func() { errc <- k.rt.StopContainer(ctx, r.InstanceID, 0, time.Duration(grace)*time.Second) }()
	var first error
	for pending > 0 {
		_, shrunk := r.budget()
		select {
		case err := <-errc:
			pending--
			if err != nil && first == nil {
				first = fmt.Errorf("stop container %s (%s): %w", r.Container.Name, r.InstanceID, err)
			}
			if err == nil {
				return drain(errc, pending)
			}
		case <-shrunk:
			g, _ := r.budget()
			left := max(g-int64(k.clk.Since(start).Seconds()), minStopWindow)
			if pending < cap(errc) {
				pending++
				go func() { errc <- k.rt.StopContainer(ctx, r.InstanceID, 0, time.Duration(left)*time.Second) }()
			}
		}
	}
	return first
}

// drain waits for the other stop calls (they end with the container).
func drain(errc <-chan error, pending int) error {
	for ; pending > 0; pending-- {
		<-errc
	}
	return nil
}

func preStop(c *corev1.Container) *corev1.LifecycleHandler {
	if c.Lifecycle == nil {
		return nil
	}
	return c.Lifecycle.PreStop
}

// startPreStop runs the hook in the background; the returned channel is
// closed when it returns. A hook still running when the budget ends is
// abandoned, not cancelled: it dies with the container (R54).
func (k *killer) startPreStop(ctx context.Context, r killRequest, h *corev1.LifecycleHandler) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := k.runHook(ctx, r.Pod, r.Container, r.InstanceID, h); err != nil && ctx.Err() == nil {
			k.events.container(ctx, r.Pod, r.Container.Name, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
		}
	}()
	return done
}

// killsInFlight counts the kills running per instance ID (launchKill):
// an instance with a kill in flight gets no second one, and a terminating
// pod finishes only once none is left. The worker's loop goroutine alone
// uses it.
type killsInFlight map[string]int

func (k killsInFlight) begin(id string)     { k[id]++ }
func (k killsInFlight) busy(id string) bool { return k[id] > 0 }
func (k killsInFlight) none() bool          { return len(k) == 0 }

// end notes that one kill of id returned.
func (k killsInFlight) end(id string) {
	if k[id]--; k[id] <= 0 {
		delete(k, id)
	}
}
