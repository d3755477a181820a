package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// RunHook runs a postStart or preStop handler (R52–R57) and returns when it
// is done or ctx ends. Hooks have no timeout of their own: the caller bounds
// them (preStop by the grace period). The error's text is the kubelet's
// message for the FailedPostStartHook / FailedPreStopHook event details.
func RunHook(ctx context.Context, p Prober, pod *corev1.Pod, c *corev1.Container, instanceID string, h *corev1.LifecycleHandler) error {
	if h == nil || pod == nil || c == nil {
		return nil
	}
	where := fmt.Sprintf("for Container %q in Pod %q", c.Name, podString(pod))
	switch {
	case h.Exec != nil:
		out, err := execHook(ctx, p, c, instanceID, h.Exec.Command)
		if err != nil {
			return &HookError{Err: err, Msg: fmt.Sprintf("Exec lifecycle hook (%v) %s failed - error: %v, message: %q", h.Exec.Command, where, err, out)}
		}
	case h.HTTPGet != nil:
		if err := httpHook(ctx, p, pod, c, h.HTTPGet); err != nil {
			return &HookError{Err: err, Msg: fmt.Sprintf("HTTP lifecycle hook (%s) %s failed - error: %v", h.HTTPGet.Path, where, err)}
		}
	case h.Sleep != nil:
		if err := sleepHook(ctx, h.Sleep.Seconds); err != nil {
			return &HookError{Err: err, Msg: fmt.Sprintf("Sleep lifecycle hook (%d) %s failed - error: %v", h.Sleep.Seconds, where, err)}
		}
	default:
		// tcpSocket in a hook is not supported by the kubelet (R56).
		err := errors.New("only exec, httpGet and sleep are supported")
		return &HookError{Err: err, Msg: fmt.Sprintf("invalid lifecycle handler %s: %v", where, err)}
	}
	return nil
}

// HookError is a failed hook. Its text is the kubelet's message, e.g.
// `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod
// "web_default(uid)" failed - error: command 'sh -c exit 3' exited with 3,
// message: "..."`, for the details of the FailedPostStartHook /
// FailedPreStopHook event; Err is the cause.
type HookError struct {
	Msg string
	Err error
}

func (e *HookError) Error() string { return e.Msg }
func (e *HookError) Unwrap() error { return e.Err }

// execHook runs the command until it exits or ctx ends; a non-zero exit is
// an error carrying the command's output.
func execHook(ctx context.Context, p Prober, c *corev1.Container, instanceID string, command []string) (string, error) {
	cmd := expandCommand(command, c)
	out := &limitedBuffer{max: maxOutput}
	code, err := p.Exec(ctx, instanceID, ExecRequest{Command: cmd, Stdout: out, Stderr: out})
	if err != nil {
		return out.String(), fmt.Errorf("exec %q in %s: %w", strings.Join(cmd, " "), instanceID, err)
	}
	if code != 0 {
		return out.String(), fmt.Errorf("command '%s' exited with %d", strings.Join(cmd, " "), code)
	}
	return out.String(), nil
}

// httpHook sends the GET like a probe does. As in the kubelet only a failed
// request is an error; the response status is not judged.
func httpHook(ctx context.Context, p Prober, pod *corev1.Pod, c *corev1.Container, a *corev1.HTTPGetAction) error {
	req, err := newHTTPRequest(ctx, a, pod, c, lifecycleUserAgent)
	if err != nil {
		return err
	}
	tr := newTransport(p, func() *corev1.Pod { return pod })
	defer tr.CloseIdleConnections()
	res, err := newHTTPClient(tr, 0).Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxOutput))
	return res.Body.Close()
}

// sleepHook waits; an end of ctx first (grace period over, container gone)
// is reported like the kubelet does.
func sleepHook(ctx context.Context, seconds int64) error {
	if seconds <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(seconds) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errors.New("container terminated before sleep hook finished")
	}
}

// podString formats a pod as the kubelet's messages do: name_namespace(uid).
func podString(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
