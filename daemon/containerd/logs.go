package containerd

import (
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/pkg/cio"
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

// logIO makes the shim run the log writer (podrund-logger, or podrund's
// cri-logger subcommand) for the task's stdout and stderr, so logging goes
// on while podrund is down.
func (r *Runtime) logIO(path string, tty bool) cio.Creator {
	spec := LoggerSpec{Path: path, MaxBytes: r.opts.LogMaxBytes, MaxFiles: r.opts.LogMaxFiles}
	bin := cio.BinaryIO(r.loggerBin, map[string]string{LoggerCommand: spec.String()})
	if !tty {
		return bin
	}
	return func(id string) (cio.IO, error) {
		i, err := bin(id)
		if err != nil {
			return nil, err
		}
		return terminalIO{i}, nil
	}
}

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
