package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/crilog"
)

// attach serves .../pods/NAME/attach?container=..&stdout=..&stderr=..: the
// output the container's main process writes from now on, until it exits.
//
// podrun logs every container through a binary logger run by containerd's
// shim, which then owns the process's stdout and stderr; the output an
// attach sees is therefore the container's log followed from the moment of
// the attach (both streams arrive on stdout). For the same reason the main
// process has no stdin pipe anyone could write to, so stdin=true is refused
// before the upgrade instead of being silently dropped.
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	opts, err := streamOptions(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if opts.Stdin {
		s.writeError(w, api.NewBadRequest("attach with stdin is not supported: podrun logs a container's "+
			"output through a binary logger, which leaves its main process no stdin to write to; "+
			"attach without -i (stdin=false) to see its output"))
		return
	}
	t, release, ok := s.containerSession(w, r)
	if !ok {
		return
	}
	defer release()
	at := logAttacher{s: s, target: t, since: time.Now()}
	if wsstream.IsWebSocketRequest(r) {
		serveChannels(w, r, opts, func(st channelStreams) error {
			return at.AttachContainer(r.Context(), t.pod.Name, string(t.pod.UID), t.container,
				st.in, st.out, st.err, opts.TTY, st.resize)
		})
		return
	}
	remotecommand.ServeAttach(w, r, at, t.pod.Name, string(t.pod.UID), t.container, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// logAttacher is remotecommand.Attacher on a container's followed log.
type logAttacher struct {
	s      *Server
	target streamTarget
	since  time.Time
}

// AttachContainer copies the log lines written since the attach to out
// (or errw when only stderr was asked for) until the instance exited and
// its log is drained, or the client went away.
func (a logAttacher) AttachContainer(ctx context.Context, _, _, _ string, _ io.Reader,
	out, errw io.WriteCloser, _ bool, resize <-chan remotecommand.TerminalSize) error {
	var dst io.Writer = io.Discard
	switch {
	case out != nil:
		dst = out
	case errw != nil:
		dst = errw
	}
	if resize != nil {
		// The terminal belongs to the shim's console; sizes are read so
		// the client never blocks on them.
		go func() {
			for range resize {
			}
		}()
	}
	t := a.target
	path := t.inst.LogPath
	if path == "" {
		p := crilog.Pod{Namespace: t.pod.Namespace, Name: t.pod.Name, UID: string(t.pod.UID)}
		path = crilog.Path(a.s.o.Root, p, t.container, t.inst.Attempt)
	}
	ls := &crilog.Streamer{Path: path, Poll: a.s.o.LogPollInterval, Out: dst,
		Options: crilog.ReadOptions{Follow: true, Since: a.since},
		Exited:  func() bool { return a.s.instanceDone(ctx, t.pod, t.container, t.inst.ID) }}
	return ls.Run(ctx)
}
