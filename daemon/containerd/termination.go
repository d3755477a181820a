package containerd

import (
	"io"
	"os"
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
	return crilog.Tail(labels[labelLogPath], fallbackMaxLines, fallbackMaxBytes)
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
