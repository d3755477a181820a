package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
	corev1 "k8s.io/api/core/v1"
)

// maxLogLine is the longest line written as one record; longer lines are
// split into partial (P) records, as containerd's CRI does.
const maxLogLine = 16 * 1024

// logPath is <root>/logs/<ns>_<pod>_<uid>/<container>/<attempt>.log.
func (r *Runtime) logPath(pod *corev1.Pod, container string, attempt int32) string {
	return LogPath(r.opts.Root, pod, container, attempt)
}

// removeLogFiles deletes a log and its rotated files.
func removeLogFiles(path string) {
	os.Remove(path)
	matches, _ := filepath.Glob(path + ".*")
	for _, m := range matches {
		os.Remove(m)
	}
}

// logIO makes the shim run podrund's log writer (LoggerMain) for the
// task's stdout and stderr, so logging goes on while podrund is down.
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

// criLog writes CRI-format records to a size-rotated file:
// "TIMESTAMP STREAM F|P LINE\n".
type criLog struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	maxFiles int
	f        *os.File
	size     int64
	now      func() time.Time
}

func openCRILog(path string, maxBytes int64, maxFiles int) (*criLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	l := &criLog{path: path, maxBytes: maxBytes, maxFiles: maxFiles, now: time.Now}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *criLog) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log %s: %w", l.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat log %s: %w", l.path, err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

func (l *criLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// write appends one record, rotating first when it would not fit.
func (l *criLog) write(stream string, partial bool, line []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.WriteString(l.now().UTC().Format(time.RFC3339Nano))
	b.WriteString(" " + stream + " " + tag + " ")
	b.Write(line)
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxBytes > 0 && l.size > 0 && l.size+int64(b.Len()) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b.Bytes())
	l.size += int64(n)
	return err
}

// rotate shifts <attempt>.log.N-1 → .N … .log → .log.1, keeping at most
// maxFiles files in all (the live one included).
func (l *criLog) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("close log for rotation: %w", err)
	}
	keep := l.maxFiles - 1
	if keep < 1 {
		if err := os.Truncate(l.path, 0); err != nil {
			return fmt.Errorf("truncate log: %w", err)
		}
		return l.open()
	}
	os.Remove(l.path + "." + strconv.Itoa(keep))
	for i := keep - 1; i >= 1; i-- {
		os.Rename(l.path+"."+strconv.Itoa(i), l.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return l.open()
}

// copyStream turns a stream into records until EOF. A write error is
// remembered but reading goes on, so a full disk never blocks the
// container on its stdout.
func (l *criLog) copyStream(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLogLine)
	var firstErr error
	for {
		line, err := br.ReadSlice('\n')
		partial := errors.Is(err, bufio.ErrBufferFull)
		if len(line) > 0 {
			if !partial {
				line = bytes.TrimSuffix(line, []byte("\n"))
			}
			if werr := l.write(stream, partial, line); werr != nil && firstErr == nil {
				firstErr = werr
			}
		}
		if err != nil && !partial {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return firstErr
			}
			if firstErr == nil {
				firstErr = err
			}
			return firstErr
		}
	}
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

// LastLogAttempt is the highest attempt with a log file of the container
// (R88: restartCount when no earlier instance is known is this + 1).
func (r *Runtime) LastLogAttempt(pod *corev1.Pod, container string) (int32, bool) {
	entries, err := os.ReadDir(filepath.Join(PodLogDir(r.opts.Root, pod), container))
	if err != nil {
		return 0, false
	}
	best, found := int32(0), false
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.TrimSuffix(e.Name(), ".log"), 10, 32)
		if err != nil || !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		if !found || int32(n) > best {
			best, found = int32(n), true
		}
	}
	return best, found
}
