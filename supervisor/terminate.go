package supervisor

import (
	"context"
	"fmt"
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

// waitForTurn blocks until name may be stopped or grace seconds passed; it
// returns the time waited (R63).
func (o *terminationOrdering) waitForTurn(ctx context.Context, clk clock.WithTicker, name string, grace int64) time.Duration {
	pre := o.prereqs[name]
	if len(pre) == 0 || grace <= 0 {
		return 0
	}
	start := clk.Now()
	t := clk.NewTimer(time.Duration(grace) * time.Second)
	defer t.Stop()
	for _, ch := range pre {
		select {
		case <-ch:
		case <-t.C():
			return clk.Since(start)
		case <-ctx.Done():
			return clk.Since(start)
		}
	}
	return clk.Since(start)
}

// containerTerminated marks name stopped for the ordering.
func (o *terminationOrdering) containerTerminated(name string) {
	if ch, ok := o.terminated[name]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
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
// at least 2 s. The ordering is told when the instance stopped.
func (k *killer) kill(ctx context.Context, r killRequest) error {
	name := r.Container.Name
	if r.Ordering != nil {
		defer r.Ordering.containerTerminated(name)
	}
	msg := r.Message
	if msg == "" {
		msg = fmt.Sprintf("Stopping container %s", name)
	}
	k.events.container(ctx, r.Pod, name, corev1.EventTypeNormal, "Killing", msg)
	grace := r.Grace
	if h := preStop(r.Container); h != nil && grace > 0 && k.runHook != nil {
		grace -= int64(k.runPreStop(ctx, r, h, grace).Seconds())
	}
	if r.Ordering != nil && grace > 0 {
		grace -= int64(r.Ordering.waitForTurn(ctx, k.clk, name, grace).Seconds())
	}
	grace = max(grace, minStopWindow)
	if err := k.rt.StopContainer(ctx, r.InstanceID, 0, time.Duration(grace)*time.Second); err != nil {
		return fmt.Errorf("stop container %s (%s): %w", name, r.InstanceID, err)
	}
	return nil
}

func preStop(c *corev1.Container) *corev1.LifecycleHandler {
	if c.Lifecycle == nil {
		return nil
	}
	return c.Lifecycle.PreStop
}

// runPreStop runs the hook and waits for it at most grace seconds; a hook
// still running is abandoned, not cancelled (R54).
func (k *killer) runPreStop(ctx context.Context, r killRequest, h *corev1.LifecycleHandler, grace int64) time.Duration {
	start := k.clk.Now()
	done := make(chan error, 1)
	go func() {
		done <- k.runHook(ctx, r.Pod, r.Container, r.InstanceID, h)
	}()
	t := k.clk.NewTimer(time.Duration(grace) * time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			k.events.container(ctx, r.Pod, r.Container.Name, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
		}
	case <-t.C():
	case <-ctx.Done():
	}
	return k.clk.Since(start)
}
