package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"
)

// ctrTimes are containerd's own timestamps for one container: when the
// container record was created and its task started (the events'
// envelope times, set by containerd when it published them) and when its
// process exited (TaskExit.ExitedAt, from the shim that reaped it).
type ctrTimes struct {
	Created, Started, Exited time.Time
	TaskDeleted, Removed     time.Time // /tasks/delete and /containers/delete: the reap
}

// ctrEvents records /containers/create, /tasks/start, /tasks/exit,
// /tasks/delete and /containers/delete of
// one containerd namespace, keyed by container ID. It is how the benchmark
// sees what podrund did, on containerd's clock, without asking podrund.
type ctrEvents struct {
	mu      sync.Mutex
	byID    map[string]*ctrTimes
	changed chan struct{}
	err     error
}

func recordEvents(ctx context.Context, c *containerd.Client, ns string) *ctrEvents {
	r := &ctrEvents{byID: map[string]*ctrTimes{}, changed: make(chan struct{})}
	envs, errs := c.Subscribe(ctx,
		fmt.Sprintf(`namespace==%q,topic=="/containers/create"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/start"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/exit"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/delete"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/containers/delete"`, ns))
	go func() {
		for {
			select {
			case env := <-envs:
				r.add(env.Topic, env.Timestamp, env.Event)
			case err := <-errs:
				r.mu.Lock()
				if ctx.Err() == nil {
					r.err = fmt.Errorf("containerd event stream: %w", err)
				}
				r.mu.Unlock()
				return
			}
		}
	}()
	return r
}

func (r *ctrEvents) add(topic string, ts time.Time, any typeurl.Any) {
	v, err := typeurl.UnmarshalAny(any)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	get := func(id string) *ctrTimes {
		t := r.byID[id]
		if t == nil {
			t = &ctrTimes{}
			r.byID[id] = t
		}
		return t
	}
	switch e := v.(type) {
	case *apievents.ContainerCreate:
		get(e.ID).Created = ts
	case *apievents.TaskStart:
		get(e.ContainerID).Started = ts
	case *apievents.TaskExit:
		if e.ID == e.ContainerID || e.ID == "" { // the init process, not an exec
			get(e.ContainerID).Exited = e.ExitedAt.AsTime()
		}
	case *apievents.TaskDelete:
		if e.ID == e.ContainerID || e.ID == "" {
			get(e.ContainerID).TaskDeleted = ts
		}
	case *apievents.ContainerDelete:
		get(e.ID).Removed = ts
	default:
		return
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// waitFor returns the times of container id once cond holds for them.
func (r *ctrEvents) waitFor(ctx context.Context, id, what string, cond func(ctrTimes) bool) (ctrTimes, error) {
	for {
		r.mu.Lock()
		var t ctrTimes
		if p := r.byID[id]; p != nil {
			t = *p
		}
		ch, err := r.changed, r.err
		r.mu.Unlock()
		if cond(t) {
			return t, nil
		}
		if err != nil {
			return t, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return t, fmt.Errorf("containerd event for %s (%s): %w", id, what, ctx.Err())
		}
	}
}
