package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
)

// logPod names pod for the log layout (crilog).
func logPod(pod *corev1.Pod) crilog.Pod {
	return crilog.Pod{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
}

// logPath is where the log of attempt of a container of pod lives.
func (r *Runtime) logPath(pod *corev1.Pod, container string, attempt int32) string {
	return crilog.Path(r.opts.Root, logPod(pod), container, attempt)
}

// setUpLogWriter prepares the shared log writer's client (bin runs it,
// WriterMain) and registers the containers a previous podrund left with it.
func (r *Runtime) setUpLogWriter(ctx context.Context, bin string) {
	if r.opts.State == "" {
		return
	}
	r.logw = &crilog.Writer{Binary: bin, State: filepath.Join(r.opts.State, "logwriter"), Stderr: os.Stderr,
		Logf: func(format string, args ...any) { r.log.Warn(fmt.Sprintf(format, args...)) }}
	r.sharedLogs = !r.opts.PerContainerLogWriter
	r.adoptLogs(ctx)
}

// logIO gives the task's stdout and stderr to the shared writer, or, when
// it cannot be started or is off, makes the shim run a log writer for
// this container alone (podrund-logger, or podrund's cri-logger
// subcommand). Either way logging goes on while podrund is down.
func (r *Runtime) logIO(path string, tty bool) cio.Creator {
	spec := LoggerSpec{Path: path, MaxBytes: r.opts.LogMaxBytes, MaxFiles: r.opts.LogMaxFiles}
	bin := cio.BinaryIO(r.loggerBin, map[string]string{LoggerCommand: spec.String()})
	return func(id string) (cio.IO, error) {
		if r.sharedLogs {
			cfg, err := r.attachLog(id, spec, tty)
			if err == nil {
				return fifoIO{cfg}, nil
			}
			r.log.Warn("shared container log writer unavailable, this container's log gets a writer of its own",
				zap.String("id", id), zap.Error(err))
		}
		i, err := bin(id)
		if err != nil || !tty {
			return i, err
		}
		return terminalIO{i}, nil
	}
}

// attachLog makes the container's FIFOs and registers them with the
// shared writer; on return the writer has the log open.
func (r *Runtime) attachLog(id string, spec LoggerSpec, tty bool) (cio.Config, error) {
	a, err := r.logw.MakeFIFOs(id, spec, tty)
	if err == nil {
		err = r.logw.Attach(a)
	}
	if err != nil {
		_ = r.logw.Drained(id) // removes the FIFOs
		return cio.Config{}, err
	}
	return cio.Config{Stdout: a.Stdout, Stderr: a.Stderr, Terminal: tty}, nil
}

// drainLog waits until the shared writer has written and closed the log
// of container id (nothing to wait for when it never had it): after the
// task's deletion, before the log is read for a termination message and
// before the container goes.
func (r *Runtime) drainLog(id string) {
	if r.logw == nil {
		return
	}
	if err := r.logw.Drained(id); err != nil {
		r.log.Warn("drain container log", zap.String("id", id), zap.Error(err))
	}
}

// adoptLogs runs at start: a container a previous podrund gave the shared
// writer is registered again (a no-op for a writer that has it; a writer
// that is down is started and reattaches), and what the writer holds for
// a container that no longer exists is dropped.
func (r *Runtime) adoptLogs(ctx context.Context) {
	ids := map[string]bool{}
	for _, id := range r.logw.Stored() {
		ids[id] = true
	}
	for _, id := range r.logw.FIFOOwners() {
		ids[id] = true
	}
	for id := range ids {
		cont, err := r.client.LoadContainer(ctx, id)
		switch {
		case errdefs.IsNotFound(err):
			r.drainLog(id)
		case err == nil:
			r.reattachLog(ctx, cont)
		default:
			r.log.Warn("adopt container log", zap.String("id", id), zap.Error(err))
		}
	}
}

// reattachLog registers a live container's FIFOs again; an exited one is
// left to its reap, which drains it.
func (r *Runtime) reattachLog(ctx context.Context, cont containerd.Container) {
	if exited(ctx, cont) {
		return
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		r.log.Warn("adopt container log", zap.String("id", cont.ID()), zap.Error(err))
		return
	}
	dir := r.logw.FIFODir(cont.ID())
	a := crilog.Attachment{ID: cont.ID(), Stdout: filepath.Join(dir, "stdout"),
		Log: LoggerSpec{Path: labels[labelLogPath], MaxBytes: r.opts.LogMaxBytes, MaxFiles: r.opts.LogMaxFiles}}
	if _, err := os.Stat(filepath.Join(dir, "stderr")); err == nil {
		a.Stderr = filepath.Join(dir, "stderr")
	}
	if _, err := os.Stat(a.Stdout); err != nil {
		return // its streams ended; the writer closed it
	}
	if err := r.logw.Attach(a); err != nil {
		r.log.Warn("register adopted container with the log writer", zap.String("id", cont.ID()), zap.Error(err))
	}
}

// fifoIO hands the shim the FIFOs the shared writer reads; podrund itself
// copies nothing, so there is nothing to cancel, wait for or close.
type fifoIO struct{ cfg cio.Config }

func (f fifoIO) Config() cio.Config { return f.cfg }
func (fifoIO) Cancel()              {}
func (fifoIO) Wait()                {}
func (fifoIO) Close() error         { return nil }

// terminalIO asks containerd for a TTY; the shim copies the console to
// the logger's stdout.
type terminalIO struct{ cio.IO }

func (t terminalIO) Config() cio.Config {
	c := t.IO.Config()
	c.Terminal = true
	return c
}

// RemovePodLogs deletes a deleted pod's logs, as the kubelet does.
func (r *Runtime) RemovePodLogs(pod *corev1.Pod) error {
	if err := os.RemoveAll(crilog.PodDir(r.opts.Root, logPod(pod))); err != nil {
		return fmt.Errorf("remove logs of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
