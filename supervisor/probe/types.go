// Package probe runs a pod's startup, liveness and readiness probes and its
// postStart/preStop hooks (docs/semantics.md §G and §H). podrund runs every
// handler itself: exec through the runtime, httpGet, tcpSocket and grpc
// dialled from inside the pod's network namespace through Prober.Dial, so
// probes work on images without a shell, curl or nc.
//
// The package does not import the supervisor engine (it would be an import
// cycle); the results it sends are supervisor/probe/results', which the
// engine reads as they are.
package probe

import (
	"context"
	"io"
	"net"

	corev1 "k8s.io/api/core/v1"
)

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
