package supervisor

import (
	"context"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ProbeManager runs the probe workers (a *probe.Manager in podrund).
type ProbeManager interface {
	AddInstance(pod *corev1.Pod, c *corev1.Container, instanceID string, startedAt time.Time)
	RemoveInstance(instanceID string)
	StopLivenessAndStartup(podUID types.UID)
	ProbeReadinessNow(instanceID string)
	Updates() <-chan results.Update
}

// HookRunner runs one postStart or preStop handler and returns its error.
type HookRunner func(ctx context.Context, pod *corev1.Pod, c *corev1.Container, instanceID string, h *corev1.LifecycleHandler) error

// probeState is what the engine knows of one instance's probes; results.Unknown
// means "no result yet" (R19 waits on it).
type probeState struct {
	Liveness  results.Result
	Readiness results.Result
	Startup   results.Result
}

// initialProbeState gives a new instance the initial results of R40; an
// instance without a startup probe has started (R45).
func initialProbeState(c *corev1.Container) probeState {
	ps := probeState{Liveness: results.Initial(results.Liveness), Readiness: results.Initial(results.Readiness),
		Startup: results.Initial(results.Startup)}
	if c.StartupProbe == nil {
		ps.Startup = results.Success
	}
	return ps
}
