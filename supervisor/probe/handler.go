package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// outcome is what one probe attempt produced.
type outcome struct {
	result  results.Result // Success or Failure
	warning bool           // Success with a ProbeWarning (R41)
	output  string
	// err: the attempt could not be made (runtime error); as in the kubelet
	// the attempt counts neither as success nor as failure.
	err error
}

// target is the container instance a handler runs against.
type target struct {
	prober     Prober
	pod        *corev1.Pod
	container  *corev1.Container
	instanceID string
	// transport dials into the pod's network namespace; shared per pod.
	transport http.RoundTripper
}

// runProbe makes one attempt of a probe's handler within the probe's timeout.
func runProbe(ctx context.Context, t *target, p *corev1.Probe) outcome {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second // R6 default
	}
	h := &p.ProbeHandler
	switch {
	case h.Exec != nil:
		return execProbe(ctx, t, h.Exec.Command, timeout)
	case h.HTTPGet != nil:
		return httpProbe(ctx, t, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		return tcpProbe(ctx, t, h.TCPSocket, timeout)
	case h.GRPC != nil:
		return grpcProbe(ctx, t, h.GRPC, timeout)
	}
	return outcome{result: results.Failure, output: "probe has no handler"}
}

// execProbe runs the command in the container; exceeding the timeout is a
// failure (R41), a non-zero exit is a failure with the command's output.
func execProbe(ctx context.Context, t *target, command []string, timeout time.Duration) outcome {
	cmd := expandCommand(command, t.container)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &limitedBuffer{max: maxOutput}
	code, err := t.prober.Exec(actx, t.instanceID, ExecRequest{Command: cmd, Stdout: out, Stderr: out})
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		// The kubelet's wording (CRI ExecSync timeout).
		return outcome{result: results.Failure, output: fmt.Sprintf("command %q timed out", strings.Join(cmd, " "))}
	}
	if err != nil {
		return outcome{err: fmt.Errorf("exec probe %v in %s: %w", cmd, t.instanceID, err)}
	}
	if code != 0 {
		return outcome{result: results.Failure, output: out.String()}
	}
	return outcome{result: results.Success, output: out.String()}
}

// tcpProbe succeeds when a connection opens (R41).
func tcpProbe(ctx context.Context, t *target, a *corev1.TCPSocketAction, timeout time.Duration) outcome {
	port, err := resolvePort(a.Port, t.container)
	if err != nil {
		return outcome{result: results.Failure, output: err.Error()}
	}
	host := a.Host
	if host == "" {
		host = podIP(t.pod)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := t.prober.Dial(dctx, t.pod, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return outcome{result: results.Failure, output: err.Error()}
	}
	_ = conn.Close()
	return outcome{result: results.Success}
}

// podIP is the default host of httpGet/tcpSocket/grpc handlers. Dialling
// happens inside the pod's network namespace, so loopback reaches the
// containers when the pod has no IP (loopback-only networking).
func podIP(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	return "127.0.0.1"
}

// resolvePort follows the kubelet: a number, a container port name, or a
// number written as a string.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	port := -1
	switch p.Type {
	case intstr.Int:
		port = p.IntValue()
	case intstr.String:
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				port = int(cp.ContainerPort)
				break
			}
		}
		if port < 0 {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return 0, fmt.Errorf("port %s not found in container %s", p.StrVal, c.Name)
			}
			port = n
		}
	}
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port number: %d", port)
	}
	return port, nil
}

// expandCommand replaces $(VAR) with the container's literal env values as
// the kubelet does for exec probes and hooks; $$ escapes a dollar and
// unknown references stay as written.
func expandCommand(cmd []string, c *corev1.Container) []string {
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	out := make([]string, len(cmd))
	for i, s := range cmd {
		out[i] = api.Expand(s, api.MapLookup(env))
	}
	return out
}

// limitedBuffer keeps the first max bytes written to it; stdout and stderr
// of an exec may be written from two goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		l.buf = append(l.buf, p[:room]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
