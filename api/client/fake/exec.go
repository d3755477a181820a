package fake

import (
	"context"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// ExecStdin is the command's stdin as the client sends it.
type ExecStdin struct{ io.Reader }

// ExecOutput is one of the command's output streams.
type ExecOutput struct{ io.Writer }

// TerminalSize is a size the client's terminal reported.
type TerminalSize = remotecommand.TerminalSize

// serveExec runs s.Exec behind the kubelet's streaming server code
// (k8s.io/cri-streaming), the protocol podrund serves.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request, ns, name string) {
	if s.Get("pods", ns, name) == nil {
		notFound(w, "pods", name)
		return
	}
	if s.Exec == nil {
		writeStatus(w, 400, metav1.StatusReasonBadRequest, "exec is not set up in this fake")
		return
	}
	q := r.URL.Query()
	opts := &remotecommand.Options{Stdin: q.Get("stdin") == "true", Stdout: q.Get("stdout") == "true",
		Stderr: q.Get("stderr") == "true", TTY: q.Get("tty") == "true"}
	remotecommand.ServeExec(w, r, execFunc(s.Exec), name, "", q.Get("container"), q["command"], opts,
		time.Minute, 30*time.Second, remotecommand.SupportedStreamingProtocols)
}

// execFunc adapts an ExecFunc to remotecommand.Executor.
type execFunc ExecFunc

func (f execFunc) ExecInContainer(_ context.Context, _, _, container string, cmd []string, in io.Reader,
	out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	var stdin *ExecStdin
	if in != nil {
		stdin = &ExecStdin{in}
	}
	stdout, stderr := &ExecOutput{io.Discard}, &ExecOutput{io.Discard}
	if out != nil {
		stdout.Writer = out
	}
	if errw != nil {
		stderr.Writer = errw
	}
	if code := f(container, cmd, tty, stdin, stdout, stderr, resize); code != 0 {
		return utilexec.CodeExitError{Err: io.EOF, Code: code}
	}
	return nil
}
