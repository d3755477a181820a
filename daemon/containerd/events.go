package containerd

import (
	"context"
	"fmt"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"
	"go.uber.org/zap"

	"github.com/podrun/podrun/supervisor"
)

const (
	topicExit = "/tasks/exit"
	topicOOM  = "/tasks/oom"

	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// Events streams exits and OOM kills of podrun's instances from
// containerd's event service until ctx ends. When the connection drops it
// sends EventDisconnected, reconnects with back-off, subscribes again and
// sends EventReconnected; events in between are lost, so the engine
// re-observes its instances then.
func (r *Runtime) Events(ctx context.Context) <-chan supervisor.RuntimeEvent {
	out := make(chan supervisor.RuntimeEvent, 128)
	go r.watchEvents(ctx, out)
	return out
}

func (r *Runtime) watchEvents(ctx context.Context, out chan<- supervisor.RuntimeEvent) {
	defer close(out)
	filters := []string{
		fmt.Sprintf(`topic==%q,namespace==%q`, topicExit, r.ns),
		fmt.Sprintf(`topic==%q,namespace==%q`, topicOOM, r.ns),
	}
	reconnecting := false
	for ctx.Err() == nil {
		sctx, cancel := context.WithCancel(r.nsCtx(ctx))
		envs, errs := r.client.Subscribe(sctx, filters...)
		if reconnecting {
			if !r.waitServing(ctx) {
				cancel()
				return
			}
			r.log.Info("containerd connection restored")
			r.send(ctx, out, supervisor.RuntimeEvent{Kind: supervisor.EventReconnected, At: time.Now()})
			reconnecting = false
		}
		err := r.consume(sctx, envs, errs, out)
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("containerd event stream lost", zap.Error(err))
		msg := "event stream ended"
		if err != nil {
			msg = err.Error()
		}
		r.send(ctx, out, supervisor.RuntimeEvent{Kind: supervisor.EventDisconnected, At: time.Now(), Message: msg})
		reconnecting = true
		if !r.waitServing(ctx) {
			return
		}
	}
}

// waitServing retries with back-off until containerd answers or ctx ends.
func (r *Runtime) waitServing(ctx context.Context) bool {
	delay := reconnectMin
	for {
		if err := r.Ready(ctx); err == nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
		delay = min(delay*2, reconnectMax)
	}
}

// consume forwards events until the subscription fails.
func (r *Runtime) consume(ctx context.Context, envs <-chan *events.Envelope, errs <-chan error,
	out chan<- supervisor.RuntimeEvent) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			if err == nil {
				err = fmt.Errorf("event subscription ended")
			}
			return err
		case env := <-envs:
			if env == nil {
				continue
			}
			if ev, ok := r.translate(ctx, env); ok {
				r.send(ctx, out, ev)
			}
		}
	}
}

// translate maps a containerd event to a RuntimeEvent; exits of exec
// processes and containers that are not podrun instances are dropped.
func (r *Runtime) translate(ctx context.Context, env *events.Envelope) (supervisor.RuntimeEvent, bool) {
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		r.log.Warn("decode containerd event", zap.String("topic", env.Topic), zap.Error(err))
		return supervisor.RuntimeEvent{}, false
	}
	switch e := v.(type) {
	case *apievents.TaskExit:
		if e.ID != e.ContainerID {
			return supervisor.RuntimeEvent{}, false
		}
		uid := r.podOf(ctx, e.ContainerID)
		if uid == "" {
			return supervisor.RuntimeEvent{}, false
		}
		return supervisor.RuntimeEvent{Kind: supervisor.EventExit, PodUID: uid, ContainerID: e.ContainerID,
			ExitCode: int32(e.ExitStatus), At: e.ExitedAt.AsTime()}, true
	case *apievents.TaskOOM:
		uid := r.podOf(ctx, e.ContainerID)
		if uid == "" {
			return supervisor.RuntimeEvent{}, false
		}
		r.markOOM(ctx, e.ContainerID)
		return supervisor.RuntimeEvent{Kind: supervisor.EventOOM, PodUID: uid, ContainerID: e.ContainerID,
			At: env.Timestamp}, true
	}
	return supervisor.RuntimeEvent{}, false
}

// markOOM records the OOM kill on the container so Reap reports it even
// across a podrund restart. The OOM event precedes the exit event, so the
// label is set before the engine reaps.
func (r *Runtime) markOOM(ctx context.Context, id string) {
	cont, err := r.client.LoadContainer(ctx, id)
	if err == nil {
		_, err = cont.SetLabels(ctx, map[string]string{labelOOMKilled: "true"})
	}
	if err != nil {
		r.log.Warn("record OOM kill", zap.String("id", id), zap.Error(err))
	}
}

func (r *Runtime) send(ctx context.Context, out chan<- supervisor.RuntimeEvent, ev supervisor.RuntimeEvent) {
	select {
	case out <- ev:
	case <-ctx.Done():
	}
}
