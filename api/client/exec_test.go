package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/remotecommand"
	crremotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// upperExecutor echoes stdin to stdout in upper case, writes a line to
// stderr, records the first resize and exits with code 7.
type upperExecutor struct {
	resized chan<- crremotecommand.TerminalSize
}

func (e upperExecutor) ExecInContainer(_ context.Context, _, _, container string, cmd []string, in io.Reader,
	out, errw io.WriteCloser, _ bool, resize <-chan crremotecommand.TerminalSize, _ time.Duration) error {
	if container != "app" || strings.Join(cmd, " ") != "sh -c cat" || in == nil {
		return errors.New("bad exec request")
	}
	if errw == nil { // a terminal has one output stream
		errw = out
	}
	_, _ = io.WriteString(errw, "started\n")
	if resize != nil {
		e.resized <- <-resize
	}
	b, _ := io.ReadAll(in)
	_, _ = out.Write(bytes.ToUpper(b))
	return utilexec.CodeExitError{Err: errors.New("exit 7"), Code: 7}
}

// streamServer serves exec with the kubelet's streaming code; the query
// parameters are kubectl's ("true"), which the kubelet would spell "1".
func streamServer(ex crremotecommand.Executor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("container") == "missing" {
			writeStatus(w, metav1.Status{Code: 404, Reason: metav1.StatusReasonNotFound, Message: `pods "p" not found`})
			return
		}
		opts := &crremotecommand.Options{Stdin: q.Get("stdin") == "true", Stdout: q.Get("stdout") == "true",
			Stderr: q.Get("stderr") == "true", TTY: q.Get("tty") == "true"}
		crremotecommand.ServeExec(w, r, ex, "p", "", q.Get("container"), q["command"], opts,
			time.Minute, 10*time.Second, crremotecommand.SupportedStreamingProtocols)
	})
}

// oneSize reports an 80x24 terminal once, then that the terminal is gone.
type oneSize struct{ once sync.Once }

func (o *oneSize) Next() *remotecommand.TerminalSize {
	var sz *remotecommand.TerminalSize
	o.once.Do(func() { sz = &remotecommand.TerminalSize{Width: 80, Height: 24} })
	return sz
}

func TestExecRoundTrip(t *testing.T) {
	resized := make(chan crremotecommand.TerminalSize, 1) // taken before the exit
	c := serveUnix(t, streamServer(upperExecutor{resized: resized}))
	var stdout, stderr bytes.Buffer
	code, err := c.Exec(context.Background(), "default", "p", ExecOptions{
		Container: "app", Command: []string{"sh", "-c", "cat"}, TTY: true,
		Stdin: strings.NewReader("hello\n"), Stdout: &stdout, Stderr: &stderr, Resize: &oneSize{}})
	if err != nil {
		t.Fatal(err)
	}
	// With a TTY the server folds stderr into the terminal: stdout.
	if code != 7 || stdout.String() != "started\nHELLO\n" || stderr.String() != "" {
		t.Errorf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	select {
	case sz := <-resized:
		if sz.Width != 80 || sz.Height != 24 {
			t.Errorf("resize %+v", sz)
		}
	default:
		t.Error("the terminal size never reached the server")
	}
}

func TestExecErrors(t *testing.T) {
	c := serveUnix(t, streamServer(upperExecutor{}))
	ctx := context.Background()
	_, err := c.Exec(ctx, "default", "p", ExecOptions{Container: "missing", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), `pods \"p\" not found`) && !strings.Contains(err.Error(), `pods "p" not found`) {
		t.Errorf("before upgrade: %v, want the Status message", err)
	}
	_, err = c.Exec(ctx, "default", "p", ExecOptions{Container: "app", Command: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "bad exec request") {
		t.Errorf("runtime error: %v", err)
	}
	if _, err = c.Exec(ctx, "default", "p", ExecOptions{}); err == nil {
		t.Error("exec without a command succeeded")
	}
}
