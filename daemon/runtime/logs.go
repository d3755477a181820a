package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/pkg/cio"
	corev1 "k8s.io/api/core/v1"
)

// logPath is <root>/logs/<ns>_<pod>_<uid>/<container>/<attempt>.log.
func (r *Runtime) logPath(pod *corev1.Pod, container string, attempt int32) string {
	return LogPath(r.opts.Root, pod, container, attempt)
}

// removeLogFiles deletes a log and its rotated files. Rotated files exist
// only beside a live file (the writer re-creates it at once), so without
// one there is no directory to read.
func removeLogFiles(path string) {
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return
	}
	matches, _ := filepath.Glob(path + ".*")
	for _, m := range matches {
		os.Remove(m)
	}
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

// LogPath is where the log of attempt of a container of pod lives:
// <root>/logs/<ns>_<pod>_<uid>/<container>/<attempt>.log (rotated files
// add .1, .2, …).
func LogPath(root string, pod *corev1.Pod, container string, attempt int32) string {
	return filepath.Join(PodLogDir(root, pod), container, itoa(attempt)+".log")
}

// PodLogDir is the directory of all logs of a pod; it is removed with the
// pod (RemovePodLogs).
func PodLogDir(root string, pod *corev1.Pod) string {
	return filepath.Join(root, "logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// RemovePodLogs deletes a deleted pod's logs, as the kubelet does.
func (r *Runtime) RemovePodLogs(pod *corev1.Pod) error {
	if err := os.RemoveAll(PodLogDir(r.opts.Root, pod)); err != nil {
		return fmt.Errorf("remove logs of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
