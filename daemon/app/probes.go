package app

import (
	"context"
	"net"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/probe"
	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

// prober gives supervisor/probe the runtime's exec and dial.
type prober struct{ rt supervisor.Runtime }

func (p prober) Exec(ctx context.Context, id string, req probe.ExecRequest) (int, error) {
	return p.rt.Exec(ctx, id, supervisor.ExecRequest{Command: req.Command, Stdout: req.Stdout, Stderr: req.Stderr})
}

func (p prober) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	return p.rt.Dial(ctx, pod, network, address)
}

// observeProbe counts a probe update in the metrics: a failed attempt
// counts as a Failure even below the failure threshold, where the
// worker's result is still Success.
func observeProbe(rec metrics.Recorder) func(results.Update) {
	return func(u results.Update) {
		result := u.Result
		if u.Failed {
			result = results.Failure
		}
		rec.ObserveProbe(string(u.Kind), result.String(), 0)
	}
}

// hookRunner runs lifecycle hooks with the probe package's handlers.
func hookRunner(p probe.Prober) supervisor.HookRunner {
	return func(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h *corev1.LifecycleHandler) error {
		return probe.RunHook(ctx, p, pod, c, id, h)
	}
}
