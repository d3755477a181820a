// Package probe runs a pod's startup, liveness and readiness probes and its
// postStart/preStop hooks (docs/semantics.md §G and §H). podrund runs every
// handler itself: exec through the runtime, httpGet, tcpSocket and grpc
// dialled from inside the pod's network namespace through Prober.Dial, so
// probes work on images without a shell, curl or nc.
//
// The package does not import the supervisor engine (it would be an import
// cycle); its types mirror supervisor.ProbeKind/ProbeResult/ProbeUpdate one to
// one so a small adapter connects the two.
package probe

import (
	"context"
	"io"
	"net"

	"k8s.io/apimachinery/pkg/types"

	corev1 "k8s.io/api/core/v1"
)

// Kind is the probe type, spelt as in the kubelet's Unhealthy events.
type Kind string

const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Result is a probe worker's result for one container instance.
type Result int

const (
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	default:
		return "Unknown"
	}
}

// initialResult is the result a new instance starts with (R40).
func initialResult(k Kind) Result {
	switch k {
	case Readiness:
		return Failure
	case Liveness:
		return Success
	default:
		return Unknown
	}
}

// Update reports a probe result of one container instance. Result is always
// the worker's result after the attempt that caused the update.
//
// Updates are sent when the result changes, when a liveness or startup
// probe's Failure reaches the failure threshold, when StopLivenessAndStartup
// forces liveness/startup to Success (R49), and with Warning set when an
// attempt succeeded with a warning (R41: a redirect to another host). A
// Warning update may repeat the current result; its Output is the text of a
// ProbeWarning event ("<Kind> probe warning: <Output>"). Every failed
// attempt is sent too, with Failed set, even below the failure threshold, so
// that the engine records one Unhealthy event per failure as the kubelet does.
type Update struct {
	PodUID     types.UID
	Container  string
	InstanceID string
	Kind       Kind
	Result     Result
	// Output is the handler's output of the attempt: for a Failure the text
	// of the Unhealthy event ("<Kind> probe failed: <Output>").
	Output  string
	Warning bool
	Failed  bool // this attempt failed (the Unhealthy event)
}

// ExecRequest runs a command in a running instance; it mirrors the fields of
// supervisor.ExecRequest that probes and hooks use (no stdin, no TTY).
type ExecRequest struct {
	Command []string
	Stdout  io.Writer
	Stderr  io.Writer
}

// Prober is what probes and hooks need from the runtime.
type Prober interface {
	// Exec runs a command in the instance and returns its exit code. An error
	// means the command could not be run (or ctx ended), not a non-zero exit.
	Exec(ctx context.Context, instanceID string, req ExecRequest) (exitCode int, err error)
	// Dial connects from inside the pod's network namespace.
	Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error)
}

// maxOutput bounds what is kept of a handler's output (the kubelet keeps 10 KiB).
const maxOutput = 10 << 10

// userAgent is what the kubelet of the version podrun follows sends.
const (
	probeUserAgent     = "kube-probe/1.33"
	lifecycleUserAgent = "kube-lifecycle/1.33"
)
