package probe

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// R52/R53: an exec hook's non-zero exit is an error with the kubelet's
// message and the command's output.
func TestR53ExecHookError(t *testing.T) {
	f := newFakeProber(func(_ context.Context, _ string, cmd []string, out io.Writer) (int, error) {
		_, _ = io.WriteString(out, "boom")
		if cmd[len(cmd)-1] == "exit 3" {
			return 3, nil
		}
		return 0, nil
	})
	pod := testPod("web")
	c := &corev1.Container{Name: "app"}
	h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "exit 3"}}}
	err := RunHook(context.Background(), f, pod, c, "i1", h)
	want := `Exec lifecycle hook ([sh -c exit 3]) for Container "app" in Pod "web_default(uid-web)" failed - error: command 'sh -c exit 3' exited with 3, message: "boom"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	var he *HookError
	if !errors.As(err, &he) {
		t.Fatalf("err is %T, want *HookError", err)
	}
	if call := nextCall(t, f, "sh"); call.instance != "i1" {
		t.Fatalf("hook ran in %s", call.instance)
	}
	h.Exec.Command = []string{"sh", "-c", "true"}
	if err := RunHook(context.Background(), f, pod, c, "i1", h); err != nil {
		t.Fatalf("successful hook: %v", err)
	}
}

// R52: an exec hook has no timeout of its own; it ends with ctx.
func TestR52ExecHookRunsUntilCtxEnds(t *testing.T) {
	f := newFakeProber(func(ctx context.Context, _ string, _ []string, _ io.Writer) (int, error) {
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(1500 * time.Millisecond): // longer than any probe timeout
			return 0, nil
		}
	})
	h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"slow"}}}
	if err := RunHook(context.Background(), f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h); err != nil {
		t.Fatalf("long hook: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := RunHook(ctx, f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the ctx's end", err)
	}
}

// R56: httpGet hooks dial into the pod; only a failed request is an error.
func TestR56HTTPHook(t *testing.T) {
	srv, reqs := newHTTPServer(t, false)
	port := serverPort(t, srv.URL)
	f := newFakeProber(newExecScript().exec)
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("web"), Path: "/ok"}}
	if err := RunHook(context.Background(), f, testPod("p"), c, "i1", h); err != nil {
		t.Fatalf("http hook: %v", err)
	}
	if r := <-reqs; r.userAgent != "kube-lifecycle/1.33" {
		t.Fatalf("request = %+v", r)
	}
	h.HTTPGet.Port = intstr.FromInt32(int32(closedPort(t)))
	err := RunHook(context.Background(), f, testPod("p"), c, "i1", h)
	if err == nil || !strings.HasPrefix(err.Error(), `HTTP lifecycle hook (/ok) for Container "app" in Pod "p_default(uid-p)" failed - error: Get "http://127.0.0.1:`) ||
		!strings.HasSuffix(err.Error(), "connect: connection refused") {
		t.Fatalf("err = %v", err)
	}
}

// R56: sleep hooks wait the seconds given and are cut short by ctx.
func TestR56SleepHook(t *testing.T) {
	f := newFakeProber(newExecScript().exec)
	h := &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}
	start := time.Now()
	if err := RunHook(context.Background(), f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("slept %v", d)
	}
	h.Sleep.Seconds = 30
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := RunHook(ctx, f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h)
	if err == nil || !strings.Contains(err.Error(), "container terminated before sleep hook finished") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cut short after %v", d)
	}
	h.Sleep.Seconds = 0 // allowed (PodLifecycleSleepActionAllowZero)
	if err := RunHook(context.Background(), f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h); err != nil {
		t.Fatal(err)
	}
}

// R56: tcpSocket hooks are not supported by the kubelet.
func TestR56TCPHookUnsupported(t *testing.T) {
	f := newFakeProber(newExecScript().exec)
	h := &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}
	if err := RunHook(context.Background(), f, testPod("p"), &corev1.Container{Name: "a"}, "i1", h); err == nil {
		t.Fatal("tcpSocket hook accepted")
	}
	if err := RunHook(context.Background(), f, testPod("p"), &corev1.Container{Name: "a"}, "i1", nil); err != nil {
		t.Fatalf("no handler: %v", err)
	}
}
