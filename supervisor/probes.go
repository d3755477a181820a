package supervisor

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ProbeKind names one of a container's probes.
type ProbeKind string

const (
	ProbeLiveness  ProbeKind = "Liveness"
	ProbeReadiness ProbeKind = "Readiness"
	ProbeStartup   ProbeKind = "Startup"
)

// ProbeResult is the latest result of one probe (R40).
type ProbeResult int

const (
	ProbeUnknown ProbeResult = iota
	ProbeSuccess
	ProbeFailure
)

// ProbeUpdate is a change of one probe result of one container instance.
type ProbeUpdate struct {
	PodUID     types.UID
	Container  string
	InstanceID string
	Kind       ProbeKind
	Result     ProbeResult
	Output     string
	Warning    bool // the attempt succeeded with a warning (R41): a ProbeWarning event
	Failed     bool // the attempt failed: an Unhealthy event, even below the threshold
}

// ProbeManager runs the probe workers (supervisor/probe behind an adapter).
type ProbeManager interface {
	AddInstance(pod *corev1.Pod, c *corev1.Container, instanceID string, startedAt time.Time)
	RemoveInstance(instanceID string)
	StopLivenessAndStartup(podUID types.UID)
	ProbeReadinessNow(instanceID string)
	Updates() <-chan ProbeUpdate
}

// HookRunner runs one postStart or preStop handler and returns its error.
type HookRunner func(ctx context.Context, pod *corev1.Pod, c *corev1.Container, instanceID string, h *corev1.LifecycleHandler) error

// probeState is what the engine knows of one instance's probes; ProbeUnknown
// means "no result yet" (R19 waits on it).
type probeState struct {
	Liveness  ProbeResult
	Readiness ProbeResult
	Startup   ProbeResult
}

// initialProbeState gives a new instance the initial results of R40:
// liveness Success, startup Unknown, readiness Failure.
func initialProbeState(c *corev1.Container) probeState {
	ps := probeState{Liveness: ProbeSuccess, Readiness: ProbeFailure, Startup: ProbeUnknown}
	if c.StartupProbe == nil {
		ps.Startup = ProbeSuccess
	}
	return ps
}
