// Package probes connects supervisor/probe (probe workers and hook runners)
// to the engine. The two packages cannot import each other, so this package
// translates between their types; it holds no logic of its own.
package probes

import (
	"context"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"go.uber.org/zap"

	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/probe"
)

// runtimeProber lets probe handlers exec and dial through the engine's Runtime.
type runtimeProber struct{ rt supervisor.Runtime }

func (p runtimeProber) Exec(ctx context.Context, id string, r probe.ExecRequest) (int, error) {
	return p.rt.Exec(ctx, id, supervisor.ExecRequest{Command: r.Command, Stdout: r.Stdout, Stderr: r.Stderr})
}

func (p runtimeProber) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	return p.rt.Dial(ctx, pod, network, address)
}

// Manager is a supervisor.ProbeManager backed by a probe.Manager.
type Manager struct {
	m       *probe.Manager
	updates chan supervisor.ProbeUpdate
}

var _ supervisor.ProbeManager = (*Manager)(nil)

// New starts probe workers that exec and dial through rt. The translation
// goroutine ends when ctx ends.
func New(ctx context.Context, rt supervisor.Runtime, clk clock.WithTicker, log *zap.Logger) *Manager {
	pm := &Manager{
		m:       probe.NewManager(runtimeProber{rt: rt}, clk, log),
		updates: make(chan supervisor.ProbeUpdate, 64),
	}
	go pm.translate(ctx)
	return pm
}

func (pm *Manager) translate(ctx context.Context) {
	in := pm.m.Updates()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-in:
			if !ok {
				return
			}
			out := supervisor.ProbeUpdate{
				PodUID:     u.PodUID,
				Container:  u.Container,
				InstanceID: u.InstanceID,
				Kind:       supervisor.ProbeKind(u.Kind),
				Result:     supervisor.ProbeResult(u.Result),
				Output:     u.Output,
				Warning:    u.Warning,
				Failed:     u.Failed,
			}
			select {
			case pm.updates <- out:
			case <-ctx.Done():
				return
			}
		}
	}
}

// AddInstance starts the probe workers of a container instance.
func (pm *Manager) AddInstance(pod *corev1.Pod, c *corev1.Container, instanceID string, startedAt time.Time) {
	pm.m.AddInstance(pod, c, instanceID, startedAt)
}

// RemoveInstance stops the instance's probe workers.
func (pm *Manager) RemoveInstance(instanceID string) { pm.m.RemoveInstance(instanceID) }

// StopLivenessAndStartup stops those probes of a terminating pod (R49).
func (pm *Manager) StopLivenessAndStartup(podUID types.UID) { pm.m.StopLivenessAndStartup(podUID) }

// ProbeReadinessNow probes readiness out of band (R44).
func (pm *Manager) ProbeReadinessNow(instanceID string) { pm.m.ProbeReadinessNow(instanceID) }

// Updates delivers probe result changes in the engine's types.
func (pm *Manager) Updates() <-chan supervisor.ProbeUpdate { return pm.updates }

// HookRunner returns the engine's HookRunner, running hooks through rt.
func HookRunner(rt supervisor.Runtime) supervisor.HookRunner {
	p := runtimeProber{rt: rt}
	return func(ctx context.Context, pod *corev1.Pod, c *corev1.Container, instanceID string, h *corev1.LifecycleHandler) error {
		return probe.RunHook(ctx, p, pod, c, instanceID, h)
	}
}
