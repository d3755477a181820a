package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/internal/chans"
	"github.com/podrun/podrun/supervisor"
)

// The streaming endpoints (docs/contract.md §3) speak what kubectl and
// client-go speak to the API server: a WebSocket with the channel
// protocols (v5.channel.k8s.io first, whose CLOSE signal carries the end
// of stdin) or, as the fallback, SPDY/3.1 as the kubelet serves it
// through k8s.io/cri-streaming. Every error found before the upgrade is
// an ordinary Status body.

// streamIdleTimeout and streamCreationTimeout are the kubelet's streaming
// server defaults: a session nobody types into for four hours is dropped,
// and a client that upgraded but never opened its streams is dropped
// after 30 s.
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// streamTarget is the running container a session is about.
type streamTarget struct {
	pod       *corev1.Pod
	container string
	inst      supervisor.Instance
}

// runningContainer finds the pod and the container the query names
// (kubectl's default: the first container) and checks it is running.
func (s *Server) runningContainer(r *http.Request) (streamTarget, error) {
	if s.o.Execer == nil || s.eng() == nil {
		return streamTarget{}, api.NewServiceUnavailable("the container runtime is not connected")
	}
	rec, err := s.obj.Pod(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	if err != nil {
		return streamTarget{}, err
	}
	container := r.URL.Query().Get("container")
	if container == "" && len(rec.Pod.Spec.Containers) > 0 {
		container = rec.Pod.Spec.Containers[0].Name
	}
	if _, err := pickContainer(rec.Pod, container); err != nil {
		return streamTarget{}, err
	}
	inst, ok := s.eng().Instance(rec.Pod.UID, container)
	if !ok || inst.State != supervisor.InstanceRunning {
		return streamTarget{}, api.NewBadRequest(fmt.Sprintf(
			"container %s is not running in pod %s", container, rec.Pod.Name))
	}
	return streamTarget{pod: rec.Pod, container: container, inst: inst}, nil
}

// takeSession takes one of the session slots exec, attach and
// port-forward share, answering 429 when none is free.
func (s *Server) takeSession(w http.ResponseWriter) (release func(), ok bool) {
	release, err := s.execSlots.acquire()
	if err != nil {
		s.writeError(w, err)
		return nil, false
	}
	return release, true
}

// containerSession is runningContainer and takeSession, answering the
// error of either.
func (s *Server) containerSession(w http.ResponseWriter, r *http.Request) (streamTarget, func(), bool) {
	t, err := s.runningContainer(r)
	if err != nil {
		s.writeError(w, err)
		return streamTarget{}, nil, false
	}
	release, ok := s.takeSession(w)
	return t, release, ok
}

// streamOptions reads stdin, stdout, stderr and tty. The API server takes
// "true" (kubectl) and the kubelet "1"; both are booleans here.
func streamOptions(r *http.Request) (*remotecommand.Options, error) {
	var o remotecommand.Options
	for _, f := range []struct {
		name string
		v    *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}} {
		b, err := queryBool(r, f.name)
		if err != nil {
			return nil, err
		}
		*f.v = b
	}
	if o.TTY && o.Stderr {
		o.Stderr = false // a terminal has one output stream, as under the kubelet
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return nil, api.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	return &o, nil
}

// exec serves .../pods/NAME/exec?command=..&container=..&stdin=..&stdout=..
// &stderr=..&tty=..; the command's exit code reaches the client in the
// final Status (reason NonZeroExitCode, cause ExitCode).
func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	command := r.URL.Query()["command"]
	if len(command) == 0 {
		s.writeError(w, api.NewBadRequest("at least one command argument is required (command=...)"))
		return
	}
	opts, err := streamOptions(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	t, release, ok := s.containerSession(w, r)
	if !ok {
		return
	}
	defer release()
	ex := containerExecutor{execer: s.o.Execer, id: t.inst.ID}
	if wsstream.IsWebSocketRequest(r) {
		serveChannels(w, r, opts, func(st channelStreams) error {
			return ex.ExecInContainer(r.Context(), t.pod.Name, string(t.pod.UID), t.container, command,
				st.in, st.out, st.err, opts.TTY, st.resize, 0)
		})
		return
	}
	remotecommand.ServeExec(w, r, ex, t.pod.Name, string(t.pod.UID), t.container, command, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// containerExecutor is remotecommand.Executor on the runtime's Exec.
type containerExecutor struct {
	execer Execer
	id     string
}

// ExecInContainer runs cmd; a non-zero exit is a utilexec.ExitError,
// which the streaming code turns into the NonZeroExitCode Status.
func (e containerExecutor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string,
	in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	req := supervisor.ExecRequest{Command: cmd, TTY: tty}
	// The streams not asked for are nil interfaces; ExecRequest wants
	// untyped nils for them, not nil *Stream values.
	if in != nil {
		req.Stdin = in
	}
	if out != nil {
		req.Stdout = out
	}
	if errw != nil {
		req.Stderr = errw
	}
	if tty && resize != nil {
		sizes := make(chan supervisor.TerminalSize, 1)
		go forwardSizes(ctx, resize, sizes)
		req.Resize = sizes
	}
	code, err := e.execer.Exec(ctx, e.id, req)
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// forwardSizes copies terminal sizes until the client stops sending or
// the session ends; a burst keeps only what the runtime takes in time.
func forwardSizes(ctx context.Context, from <-chan remotecommand.TerminalSize, to chan<- supervisor.TerminalSize) {
	chans.Each(ctx, from, func(sz remotecommand.TerminalSize) {
		select {
		case to <- supervisor.TerminalSize{Width: sz.Width, Height: sz.Height}:
		case <-ctx.Done(): // Each returns next
		default:
		}
	})
}
