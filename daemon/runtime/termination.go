package runtime

import (
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
)

// Termination message limits (R86a).
const (
	maxMessageBytes  = 4096
	fallbackMaxLines = 80
	fallbackMaxBytes = 2048
)

// terminationMessage reads the instance's termination-log file; when it is
// empty, the container failed and the policy is FallbackToLogsOnError, the
// tail of its log is used instead.
func terminationMessage(labels map[string]string, exitCode int32) string {
	msg := readHead(labels[labelTermLog], maxMessageBytes)
	if msg != "" || exitCode == 0 ||
		labels[labelTermPolicy] != string(corev1.TerminationMessageFallbackToLogsOnError) {
		return msg
	}
	return logTail(labels[labelLogPath], fallbackMaxLines, fallbackMaxBytes)
}

func readHead(path string, limit int64) string {
	if path == "" {
		return ""
	}
	// O_NOFOLLOW|O_NONBLOCK: only the regular file podrund created is read.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(f, limit))
	return string(data)
}

// logTail is the last maxLines lines (at most maxBytes) of a CRI log's
// content, partial records joined.
func logTail(path string, maxLines, maxBytes int) string {
	data, err := readTail(path, int64(maxLines)*(crilog.MaxLine+64))
	if err != nil {
		return ""
	}
	var lines []string
	var cur strings.Builder
	for _, rec := range bytes.Split(data, []byte("\n")) {
		_, partial, content, ok := parseCRILine(rec)
		if !ok {
			continue
		}
		cur.Write(content)
		if !partial {
			lines = append(lines, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
	}
	return out
}

// readTail reads at most n bytes from the end of a file, starting at a
// line boundary.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	data := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(data, off); err != nil && err != io.EOF {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return data, nil
}

// parseCRILine splits "TIMESTAMP STREAM F|P CONTENT".
func parseCRILine(rec []byte) (stream string, partial bool, content []byte, ok bool) {
	parts := bytes.SplitN(rec, []byte(" "), 4)
	if len(parts) < 3 {
		return "", false, nil, false
	}
	if len(parts) == 4 {
		content = parts[3]
	}
	return string(parts[1]), string(parts[2]) == "P", content, true
}
