package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rcconst "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
	utilexec "k8s.io/utils/exec"
)

// The channel numbers of the WebSocket remote command protocols.
const (
	stdinChannel = iota
	stdoutChannel
	stderrChannel
	errorChannel
	resizeChannel
)

// channelProtocols are the WebSocket subprotocols served for exec and
// attach. The kubelet stops at v4; v5 is what the API server adds in
// front of it (and what client-go v0.37 asks for alone): the same frames
// plus a CLOSE signal, without which a client cannot end a command's
// stdin. k8s.io/streaming's wsstream does the framing and the signal.
var channelProtocols = []string{rcconst.StreamProtocolV5Name, rcconst.StreamProtocolV4Name,
	"v4." + wsstream.Base64ChannelWebSocketProtocol}

// channelStreams are a session's opened streams; nil where not asked for.
type channelStreams struct {
	in       io.Reader
	out, err io.WriteCloser
	resize   <-chan remotecommand.TerminalSize
}

// serveChannels upgrades to a WebSocket, runs the session and sends its
// outcome as a v4 Status on the error channel. An upgrade that fails has
// been answered by wsstream already.
func serveChannels(w http.ResponseWriter, r *http.Request, opts *remotecommand.Options, run func(channelStreams) error) {
	types := []wsstream.ChannelType{
		stdinChannel:  channelType(opts.Stdin, wsstream.ReadChannel),
		stdoutChannel: channelType(opts.Stdout, wsstream.WriteChannel),
		stderrChannel: channelType(opts.Stderr, wsstream.WriteChannel),
		errorChannel:  wsstream.WriteChannel,
		resizeChannel: wsstream.ReadChannel,
	}
	protocols := map[string]wsstream.ChannelProtocolConfig{}
	for _, p := range channelProtocols {
		protocols[p] = wsstream.ChannelProtocolConfig{Binary: p != channelProtocols[2], Channels: types}
	}
	conn := wsstream.NewConn(protocols)
	conn.SetIdleTimeout(streamIdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		return
	}
	defer conn.Close()
	// An empty frame on the lowest writable channel tells the client the
	// session is established, as the kubelet does.
	switch {
	case opts.Stdout:
		_, _ = streams[stdoutChannel].Write(nil)
	case opts.Stderr:
		_, _ = streams[stderrChannel].Write(nil)
	default:
		_, _ = streams[errorChannel].Write(nil)
	}
	st := channelStreams{}
	if opts.Stdin {
		st.in = streams[stdinChannel]
	}
	if opts.Stdout {
		st.out = streams[stdoutChannel]
	}
	if opts.Stderr {
		st.err = streams[stderrChannel]
	}
	sizes := make(chan remotecommand.TerminalSize, 1)
	go decodeSizes(streams[resizeChannel], sizes)
	if opts.TTY {
		st.resize = sizes
	}
	status, _ := json.Marshal(sessionStatus(run(st)))
	_, _ = streams[errorChannel].Write(status)
}

func channelType(wanted bool, t wsstream.ChannelType) wsstream.ChannelType {
	if wanted {
		return t
	}
	return wsstream.IgnoreChannel
}

// decodeSizes reads the resize channel's JSON sizes until it closes.
// It reads to the end whatever comes (sizes without a tty, garbage):
// wsstream hands every channel's frames over from one reader, so a
// channel nobody reads would stall the session's stdin too.
func decodeSizes(rd io.Reader, sizes chan remotecommand.TerminalSize) {
	defer close(sizes)
	dec := json.NewDecoder(rd)
	for {
		var sz remotecommand.TerminalSize
		if err := dec.Decode(&sz); err != nil {
			_, _ = io.Copy(io.Discard, rd)
			return
		}
		select { // the newest size wins over one not yet taken
		case <-sizes:
		default:
		}
		sizes <- sz
	}
}

// sessionStatus is the Status the v4 and v5 protocols end with: Success,
// NonZeroExitCode with the code as the ExitCode cause (kubectl exits with
// it), or InternalError with the message.
func sessionStatus(err error) metav1.Status {
	st := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}}
	var exit utilexec.ExitError
	switch {
	case err == nil:
		st.Status = metav1.StatusSuccess
	case errors.As(err, &exit) && exit.Exited():
		st.Status = metav1.StatusFailure
		st.Reason = rcconst.NonZeroExitCodeReason
		st.Message = "command terminated with non-zero exit code: " + err.Error()
		st.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{
			{Type: rcconst.ExitCodeCauseType, Message: strconv.Itoa(exit.ExitStatus())}}}
	default:
		st.Status = metav1.StatusFailure
		st.Reason = metav1.StatusReasonInternalError
		st.Code = http.StatusInternalServerError
		st.Message = err.Error()
	}
	return st
}
