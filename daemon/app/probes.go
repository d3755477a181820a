package app

import (
	"context"
	"net"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/probe"
	corev1 "k8s.io/api/core/v1"
)

// The probe package mirrors the engine's probe types without importing the
// engine (import cycle); these adapters connect the two.

// prober gives supervisor/probe the runtime's exec and dial.
type prober struct{ rt supervisor.Runtime }

func (p prober) Exec(ctx context.Context, id string, req probe.ExecRequest) (int, error) {
	return p.rt.Exec(ctx, id, supervisor.ExecRequest{Command: req.Command, Stdout: req.Stdout, Stderr: req.Stderr})
}

func (p prober) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	return p.rt.Dial(ctx, pod, network, address)
}

// probeManager is a *probe.Manager seen as a supervisor.ProbeManager.
type probeManager struct {
	*probe.Manager
	updates chan supervisor.ProbeUpdate
}

// newProbeManager converts the probe workers' updates for the engine until
// ctx ends, counting them in the metrics.
func newProbeManager(ctx context.Context, m *probe.Manager, rec metrics.Recorder) *probeManager {
	pm := &probeManager{Manager: m, updates: make(chan supervisor.ProbeUpdate, 64)}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-m.Updates():
				result := u.Result.String()
				if u.Failed {
					result = probe.Failure.String()
				}
				rec.ObserveProbe(string(u.Kind), result, 0)
				select {
				case pm.updates <- engineUpdate(u):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return pm
}

func engineUpdate(u probe.Update) supervisor.ProbeUpdate {
	return supervisor.ProbeUpdate{PodUID: u.PodUID, Container: u.Container, InstanceID: u.InstanceID,
		Kind: supervisor.ProbeKind(u.Kind), Result: probeResult(u.Result), Output: u.Output,
		Warning: u.Warning, Failed: u.Failed}
}

func (pm *probeManager) Updates() <-chan supervisor.ProbeUpdate { return pm.updates }

func probeResult(r probe.Result) supervisor.ProbeResult {
	switch r {
	case probe.Success:
		return supervisor.ProbeSuccess
	case probe.Failure:
		return supervisor.ProbeFailure
	}
	return supervisor.ProbeUnknown
}

// hookRunner runs lifecycle hooks with the probe package's handlers.
func hookRunner(p probe.Prober) supervisor.HookRunner {
	return func(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h *corev1.LifecycleHandler) error {
		return probe.RunHook(ctx, p, pod, c, id, h)
	}
}
