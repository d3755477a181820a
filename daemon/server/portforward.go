package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	gwebsocket "github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	pfconst "k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/client-go/tools/portforward"
	crportforward "k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/podrun/podrun/api"
)

// maxForwardedPorts bounds the ports of one WebSocket port-forward.
const maxForwardedPorts = 64

// PodDialer connects to an address inside a pod's network namespace (the
// host's for a hostNetwork pod): daemon/sandbox.Manager.
type PodDialer interface {
	Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error)
}

// portForward serves .../pods/NAME/portforward: each forwarded connection
// is a connection to 127.0.0.1:PORT inside the pod, as under the kubelet.
// Three transports reach the same forwarder: SPDY (the kubelet's), the
// kubelet's older WebSocket channels (ports=.. in the query), and SPDY
// tunnelled through a WebSocket ("SPDY/3.1+portforward.k8s.io"), which
// kubectl v1.37 tries first.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	if s.o.Dialer == nil {
		s.writeError(w, api.NewServiceUnavailable("port forwarding is not available: no pod network dialer"))
		return
	}
	rec, ok := s.pathPod(w, r, s.obj.Pod)
	if !ok {
		return
	}
	pod := rec.Pod
	if e := s.eng(); e != nil {
		if live, ok := e.Get(pod.UID); ok {
			pod = live.Pod
		}
	}
	if pod.Status.Phase != corev1.PodRunning {
		s.writeError(w, api.NewBadRequest(fmt.Sprintf(
			"unable to forward ports to pod %s: it is %s, not Running", pod.Name, pod.Status.Phase)))
		return
	}
	ports, err := forwardPorts(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	var opts *crportforward.V4Options
	if len(ports) > 0 {
		opts, _ = crportforward.BuildV4Options(ports)
	}
	release, ok := s.takeSession(w)
	if !ok {
		return
	}
	defer release()
	// crportforward calls the forwarder with a background context: the
	// session's own ends every forwarded connection when the client's
	// connection is gone.
	session, cancel := context.WithCancel(r.Context())
	defer cancel()
	fw := podForwarder{dialer: s.o.Dialer, pod: pod, session: session}
	uid := string(pod.UID)
	if wsstream.IsWebSocketRequestWithTunnelingProtocol(r) {
		tw, spdyReq := newTunnelWriter(w, r)
		crportforward.ServePortForward(tw, spdyReq, fw, pod.Name, uid, opts,
			streamIdleTimeout, streamCreationTimeout, crportforward.SupportedProtocols)
		return
	}
	if opts == nil && wsstream.IsWebSocketRequest(r) {
		s.writeError(w, api.NewBadRequest("port forwarding over WebSocket channels needs ports=PORT[,PORT...]"))
		return
	}
	crportforward.ServePortForward(w, r, fw, pod.Name, uid, opts,
		streamIdleTimeout, streamCreationTimeout, crportforward.SupportedProtocols)
}

// forwardPorts reads the ports of the WebSocket channel protocol: the API
// server's ports=80&ports=81 (PodPortForwardOptions), also comma
// separated, and the kubelet's port=80.
func forwardPorts(r *http.Request) ([]int32, error) {
	q := r.URL.Query()
	var ports []int32
	for _, v := range append(q["ports"], q["port"]...) {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
			if err != nil || n == 0 {
				return nil, api.NewBadRequest(fmt.Sprintf("ports: %q is not a TCP port (1-65535)", p))
			}
			// Each port opens two channels with their buffers: a URL of
			// a few hundred thousand ports must not cost that many.
			if len(ports) == maxForwardedPorts {
				return nil, api.NewBadRequest(fmt.Sprintf("ports: at most %d ports are forwarded by one request", maxForwardedPorts))
			}
			ports = append(ports, int32(n))
		}
	}
	return ports, nil
}

// podForwarder is portforward.PortForwarder on the pod's loopback.
type podForwarder struct {
	dialer  PodDialer
	pod     *corev1.Pod
	session context.Context
}

// PortForward copies between stream and 127.0.0.1:port in the pod until
// either side is done; the error, if any, reaches the client on the
// stream's error channel.
func (f podForwarder) PortForward(ctx context.Context, _, _ string, port int32, stream io.ReadWriteCloser) error {
	if f.session != nil {
		var cancel context.CancelFunc
		ctx, cancel = mergeCancel(ctx, f.session)
		defer cancel()
	}
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port %d is not a valid TCP port", port)
	}
	conn, err := f.dialer.Dial(ctx, f.pod, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	// The session's end (client gone, daemon stopping) ends every copy.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		// The client's end of its request: the pod's server gets it as a
		// half-close, as over a direct connection.
		if tc, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		done <- err
	}()
	_, err = io.Copy(stream, conn)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("copy from port %d in pod %s: %w", port, f.pod.Name, err)
	}
	return nil
}

// tunnelWriter lets the SPDY upgrade of crportforward run inside a
// WebSocket, which is what the API server's tunnelling handler does in
// front of the kubelet: the SPDY "101 Switching Protocols" becomes the
// WebSocket upgrade, and the hijacked connection is the WebSocket wrapped
// as a net.Conn (client-go's TunnelingConnection, the same type the
// client uses on its side). Answers other than 101 go out unchanged.
type tunnelWriter struct {
	w        http.ResponseWriter
	r        *http.Request
	protocol string
	header   http.Header
	conn     net.Conn
	err      error
}

// newTunnelWriter returns the writer and the SPDY request the tunnel
// stands for: the protocols the client offered without the "SPDY/3.1+"
// prefix, as X-Stream-Protocol-Version.
func newTunnelWriter(w http.ResponseWriter, r *http.Request) (*tunnelWriter, *http.Request) {
	tw := &tunnelWriter{w: w, r: r, header: http.Header{}}
	spdyReq := r.Clone(r.Context())
	spdyReq.Header.Del(httpstream.HeaderProtocolVersion)
	for _, p := range gwebsocket.Subprotocols(r) {
		if strings.HasPrefix(p, pfconst.WebsocketsSPDYTunnelingPrefix) && strings.HasSuffix(p, pfconst.KubernetesSuffix) {
			if tw.protocol == "" {
				tw.protocol = p
			}
			spdyReq.Header.Add(httpstream.HeaderProtocolVersion, strings.TrimPrefix(p, pfconst.WebsocketsSPDYTunnelingPrefix))
		}
	}
	for _, h := range []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
		spdyReq.Header.Del(h)
	}
	spdyReq.Header.Set(httpstream.HeaderUpgrade, spdy.HeaderSpdy31)
	spdyReq.Method = http.MethodPost
	return tw, spdyReq
}

func (t *tunnelWriter) Header() http.Header { return t.header }

func (t *tunnelWriter) WriteHeader(code int) {
	if t.conn != nil || t.err != nil {
		return
	}
	if code != http.StatusSwitchingProtocols {
		for k, v := range t.header {
			t.w.Header()[k] = v
		}
		t.w.WriteHeader(code)
		t.err = errors.New("the tunnel answered without upgrading")
		return
	}
	up := gwebsocket.Upgrader{Subprotocols: []string{t.protocol}}
	ws, err := up.Upgrade(t.w, t.r, nil)
	if err != nil {
		t.err = fmt.Errorf("upgrade the port-forward tunnel: %w", err) // gorilla answered the client
		return
	}
	t.conn = portforward.NewTunnelingConnection("server", ws)
}

func (t *tunnelWriter) Write(p []byte) (int, error) {
	if t.conn != nil {
		return 0, errors.New("write on an upgraded tunnel")
	}
	if t.err == nil {
		t.WriteHeader(http.StatusOK)
	}
	return t.w.Write(p)
}

// Hijack hands out the tunnel once WriteHeader(101) upgraded it.
func (t *tunnelWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if t.conn == nil {
		if t.err != nil {
			return nil, nil, t.err
		}
		return nil, nil, errors.New("hijack before the tunnel was upgraded")
	}
	return t.conn, bufio.NewReadWriter(bufio.NewReader(t.conn), bufio.NewWriter(t.conn)), nil
}

// mergeCancel is ctx, also ended when other ends.
func mergeCancel(ctx, other context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return ctx, func() { stop(); cancel() }
}
