package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
)

// podEvent is one watch event with the time this process received it.
type podEvent struct {
	Type string
	At   time.Time
	Pod  *corev1.Pod
}

// podWatch follows every pod of a namespace through one ?watch=true
// stream of api/client (never polling) and keeps each pod's events, so a
// waiter can look back at events that arrived before it asked.
type podWatch struct {
	w       *client.Watcher
	mu      sync.Mutex
	events  map[string][]podEvent
	changed chan struct{} // closed and replaced on every event
	err     error
}

func watchPods(ctx context.Context, c *client.Client, ns string) (*podWatch, error) {
	w, err := c.Watch(ctx, client.Pods, ns, "")
	if err != nil {
		return nil, fmt.Errorf("watch pods of %s: %w", ns, err)
	}
	pw := &podWatch{w: w, events: map[string][]podEvent{}, changed: make(chan struct{})}
	go pw.read()
	return pw, nil
}

func (pw *podWatch) read() {
	for {
		ev, err := pw.w.Next()
		at := time.Now()
		if err == nil && ev.Type != client.Added && ev.Type != client.Modified && ev.Type != client.Deleted {
			err = fmt.Errorf("unexpected watch event type %q", ev.Type)
		}
		var pod corev1.Pod
		if err == nil {
			err = json.Unmarshal(ev.Object, &pod)
		}
		pw.mu.Lock()
		if err != nil {
			pw.err = fmt.Errorf("pod watch: %w", err)
		} else {
			pw.events[pod.Name] = append(pw.events[pod.Name], podEvent{Type: ev.Type, At: at, Pod: &pod})
		}
		close(pw.changed)
		pw.changed = make(chan struct{})
		pw.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Close ends the stream.
func (pw *podWatch) Close() { _ = pw.w.Close() }

// forget drops the events of a pod that is gone (churn keeps memory flat).
func (pw *podWatch) forget(name string) {
	pw.mu.Lock()
	delete(pw.events, name)
	pw.mu.Unlock()
}

// wait returns the first event of pod name (earliest first, including ones
// already received) for which cond holds.
func (pw *podWatch) wait(ctx context.Context, name, what string, cond func(podEvent) bool) (podEvent, error) {
	seen := 0
	for {
		pw.mu.Lock()
		evs := pw.events[name]
		var fresh []podEvent
		if seen < len(evs) {
			fresh = evs[seen:]
		}
		seen = len(evs)
		ch, err := pw.changed, pw.err
		pw.mu.Unlock()
		for _, ev := range fresh {
			if cond(ev) {
				return ev, nil
			}
		}
		if err != nil {
			return podEvent{}, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			last := "<no event>"
			if len(evs) > 0 {
				last = describe(evs[len(evs)-1].Pod)
			}
			return podEvent{}, fmt.Errorf("pod %s: waiting for %s: %w; last seen: %s", name, what, ctx.Err(), last)
		}
	}
}

// allRunning reports whether every container of the spec is running.
func allRunning(ev podEvent) bool {
	p := ev.Pod
	if ev.Type == client.Deleted {
		return false
	}
	want := len(p.Spec.InitContainers) + len(p.Spec.Containers)
	running := 0
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			if s.State.Running != nil {
				running++
			}
		}
	}
	return running == want
}

func isDeleted(ev podEvent) bool { return ev.Type == client.Deleted }

func describe(p *corev1.Pod) string {
	s := fmt.Sprintf("phase=%s", p.Status.Phase)
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, c := range list {
			st := "-"
			switch {
			case c.State.Running != nil:
				st = "Running"
			case c.State.Waiting != nil:
				st = "Waiting(" + c.State.Waiting.Reason + ")"
			case c.State.Terminated != nil:
				st = fmt.Sprintf("Terminated(%d)", c.State.Terminated.ExitCode)
			}
			s += fmt.Sprintf(" %s=%s/restarts=%d", c.Name, st, c.RestartCount)
		}
	}
	return s
}

// applyPod creates a new pod as podctl apply does (GET, 404, POST).
func applyPod(ctx context.Context, c *client.Client, ns string, p *corev1.Pod) error {
	var cur corev1.Pod
	err := c.Get(ctx, client.Pods, ns, p.Name, &cur)
	if err == nil {
		return fmt.Errorf("pod %s/%s exists already", ns, p.Name)
	}
	if !client.IsNotFound(err) {
		return fmt.Errorf("get pod %s/%s: %w", ns, p.Name, err)
	}
	if err := c.Create(ctx, client.Pods, ns, p, nil); err != nil {
		return fmt.Errorf("create pod %s/%s: %w", ns, p.Name, err)
	}
	return nil
}

// deletePod asks for deletion (the pod's own grace period).
func deletePod(ctx context.Context, c *client.Client, ns, name string) error {
	err := c.Delete(ctx, client.Pods, ns, name, client.DeleteOptions{}, nil)
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// deleteAll deletes every pod of ns and waits until the watch reports each
// one DELETED. It returns the slowest DELETE answer: the API promises to
// answer at once, so a slow one is a finding of its own. DELETEs go out
// concurrently so one slow answer does not hold back the others.
func deleteAll(ctx context.Context, d *Daemon, ns string) (time.Duration, error) {
	pw, err := watchPods(ctx, d.C, ns) // before the list: no DELETED event can slip by
	if err != nil {
		return 0, err
	}
	defer pw.Close()
	var list corev1.PodList
	if err := d.C.List(ctx, client.Pods, ns, &list); err != nil {
		return 0, fmt.Errorf("list pods of %s: %w", ns, err)
	}
	errs := make([]error, len(list.Items))
	took := make([]time.Duration, len(list.Items))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, p := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			errs[i] = deletePod(ctx, d.C, ns, p.Name)
			took[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	var slowest time.Duration
	for _, t := range took {
		slowest = max(slowest, t)
	}
	for _, p := range list.Items {
		if _, err := pw.wait(ctx, p.Name, "DELETED", isDeleted); err != nil {
			errs = append(errs, err)
		}
	}
	return slowest, errors.Join(errs...)
}
