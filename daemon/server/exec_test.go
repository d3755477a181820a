package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gwebsocket "github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/podrun/podrun/supervisor"
)

// echoExecer copies stdin to stdout in upper case, says hello on stderr and
// exits with the command's length.
type echoExecer struct{ gotID chan string }

func (e *echoExecer) Exec(ctx context.Context, id string, req supervisor.ExecRequest) (int, error) {
	e.gotID <- id
	if req.Stderr != nil {
		_, _ = fmt.Fprintf(req.Stderr, "hello %s\n", strings.Join(req.Command, " "))
	}
	if req.Stdin != nil {
		data, _ := io.ReadAll(req.Stdin)
		_, _ = req.Stdout.Write([]byte(strings.ToUpper(string(data))))
	}
	if req.Command[0] == "fail" {
		return 0, fmt.Errorf("exec failed: no such binary")
	}
	return len(req.Command), nil
}

// tcp serves the server's handler on a loopback TCP port too: client-go's
// WebSocket transports dial TCP only.
func (ts *testServer) tcp() *rest.Config {
	hs := httptest.NewServer(ts.srv.handler)
	ts.t.Cleanup(hs.Close)
	return &rest.Config{Host: hs.URL}
}

// executors are the two transports kubectl uses: the WebSocket first, SPDY
// as the fallback.
var executors = map[string]func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error){
	"websocket": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	},
	"spdy": func(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
		return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	},
}

func streamURL(cfg *rest.Config, sub, query string) *url.URL {
	u, _ := url.Parse(cfg.Host + podsPath + "/myapp/" + sub + "?" + query)
	return u
}

// runningApp is a test server whose pod myapp is Running, with its app
// container running.
func runningApp(t *testing.T, mod func(*Options)) (*testServer, *rest.Config) {
	ts := newTestServer(t, mod)
	p := ts.create(goodPod)
	ts.engine.instances[string(p.UID)+"/app"] = supervisor.Instance{ID: "inst-1", State: supervisor.InstanceRunning}
	running := p.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	if err := ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: running}); err != nil {
		t.Fatal(err)
	}
	ts.engine.mu.Lock()
	ts.engine.pods[p.UID].Pod.Status.Phase = corev1.PodRunning
	ts.engine.mu.Unlock()
	return ts, ts.tcp()
}

func TestExecStreams(t *testing.T) {
	for name, newExec := range executors {
		t.Run(name, func(t *testing.T) {
			ex := &echoExecer{gotID: make(chan string, 2)}
			_, cfg := runningApp(t, func(o *Options) { o.Execer = ex })
			e, err := newExec(cfg, streamURL(cfg, "exec", "container=app&command=cat&command=-&stdin=true&stdout=true&stderr=true"))
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{
				Stdin: strings.NewReader("abc"), Stdout: &stdout, Stderr: &stderr})
			// The end of stdin reached the command (it exited), and its
			// exit code reached the client.
			var exit utilexec.CodeExitError
			if !errors.As(err, &exit) || exit.Code != 2 {
				t.Fatalf("exit: %v, want code 2", err)
			}
			if stdout.String() != "ABC" || stderr.String() != "hello cat -\n" {
				t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
			if id := <-ex.gotID; id != "inst-1" {
				t.Fatalf("exec ran in %s", id)
			}
			e, _ = newExec(cfg, streamURL(cfg, "exec", "command=fail&stdout=true&stderr=true"))
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "no such binary") || errors.As(err, &exit) {
				t.Fatalf("failed exec: %v", err)
			}
		})
	}
}

func TestExecErrorsBeforeUpgrade(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Execer = &echoExecer{gotID: make(chan string, 1)} })
	p := ts.create(goodPod)
	for _, c := range []struct{ query, want string }{
		{"command=ls&stdout=true", "not running"},
		{"stdout=true", "at least one command"},
		{"command=ls", "at least 1 of stdin, stdout, stderr"},
		{"command=ls&stdout=maybe", `stdout="maybe" is not a boolean`},
		{"command=ls&stdout=true&container=nope", "container nope is not valid"},
	} {
		code, data := ts.do("POST", podsPath+"/myapp/exec?"+c.query, "", nil)
		if code != 400 || !strings.Contains(ts.status(data).Message, c.want) {
			t.Errorf("exec?%s: %d %s, want 400 %q", c.query, code, data, c.want)
		}
	}
	ts.engine.instances[string(p.UID)+"/app"] = supervisor.Instance{ID: "inst-1", State: supervisor.InstanceRunning}
	code, data := ts.do("POST", podsPath+"/myapp/attach?stdin=true&stdout=true", "", nil)
	if code != 400 || !strings.Contains(ts.status(data).Message, "attach with stdin is not supported") {
		t.Errorf("attach with stdin: %d %s", code, data)
	}
}

func TestExecCap(t *testing.T) {
	ex := &echoExecer{gotID: make(chan string, 4)}
	ts, cfg := runningApp(t, func(o *Options) { o.Execer = ex; o.Dialer = loopDialer{}; o.Limits.ExecSessions = 1 })
	// The echo execer reads stdin until the client closes it: the session
	// lasts as long as stdin stays open.
	stdinR, stdinW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		e, _ := executors["spdy"](cfg, streamURL(cfg, "exec", "command=cat&stdin=true&stdout=true"))
		done <- e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: stdinR, Stdout: io.Discard})
	}()
	<-ex.gotID
	for _, sub := range []string{"exec?command=cat&stdout=true", "attach?stdout=true", "portforward?ports=80"} {
		resp := ts.get(podsPath + "/myapp/" + sub)
		expectTooMany(t, resp, "exec sessions")
	}
	stdinW.Close()
	<-done
	waitFree(t, ts.srv.execSlots, 0)
}

// loopDialer dials a TCP server of the test instead of the pod's loopback
// and records the addresses asked for.
type loopDialer struct {
	target string
	asked  chan string
}

func (d loopDialer) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	d.asked <- pod.Name + " " + network + " " + address
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.target)
}

// echoServer answers each connection with its first line upper-cased.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // until the client half-closes
				_, _ = c.Write(bytes.ToUpper(b))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPortForward forwards through both transports kubectl v1.37 uses:
// SPDY tunnelled in a WebSocket first, plain SPDY as the fallback.
func TestPortForward(t *testing.T) {
	dialers := map[string]func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error){
		"websocket-tunnel": func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
			return portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
		},
		"spdy": func(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
			tr, up, err := spdy.RoundTripperFor(cfg)
			if err != nil {
				return nil, err
			}
			return spdy.NewDialerForStreaming(up, &http.Client{Transport: tr}, http.MethodPost, u), nil
		},
	}
	for name, newDialer := range dialers {
		t.Run(name, func(t *testing.T) {
			d := loopDialer{target: echoServer(t), asked: make(chan string, 4)}
			ts, cfg := runningApp(t, func(o *Options) { o.Execer = &echoExecer{}; o.Dialer = d })
			dialer, err := newDialer(cfg, streamURL(cfg, "portforward", ""))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan struct{})
			var out bytes.Buffer
			fw, err := portforward.NewOnAddressesForStreamingWithContext(ctx, dialer, []string{"127.0.0.1"}, []string{"0:8080"}, ready, &out, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- fw.ForwardPorts() }()
			select {
			case <-ready:
			case err := <-errc:
				t.Fatalf("forward: %v", err)
			}
			ports, _ := fw.GetPorts()
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = conn.Write([]byte("ping"))
			_ = conn.(*net.TCPConn).CloseWrite()
			got, _ := io.ReadAll(conn)
			conn.Close()
			if string(got) != "PING" {
				t.Errorf("through the forward: %q, want PING", got)
			}
			if a := <-d.asked; a != "myapp tcp 127.0.0.1:8080" {
				t.Errorf("dialed %q", a)
			}
			if !strings.Contains(out.String(), "Forwarding from 127.0.0.1:") {
				t.Errorf("forwarder output %q", out.String())
			}
			cancel()
			select {
			case <-errc:
			case <-time.After(10 * time.Second):
				t.Fatal("the forwarder did not stop")
			}
			waitFree(t, ts.srv.execSlots, 0)
		})
	}
}

// TestPortForwardRefusals: bad or too many ports on the WebSocket channel
// protocol, and a pod that is not running, get a Status before any
// upgrade.
func TestPortForwardRefusals(t *testing.T) {
	ts, _ := runningApp(t, func(o *Options) { o.Dialer = loopDialer{} })
	ws := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Sec-Websocket-Protocol": {"v4.channel.k8s.io"}}
	many := strings.Repeat("80,", maxForwardedPorts) + "80"
	for q, want := range map[string]string{"ports=abc": `"abc" is not a TCP port`, "ports=0": `"0" is not a TCP port`,
		"ports=80&port=65536": `"65536" is not`, "ports=" + many: "at most 64", "": "needs ports="} {
		req, _ := http.NewRequest("GET", "http://podrund"+podsPath+"/myapp/portforward?"+q, nil)
		req.Header = ws.Clone()
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if code := resp.StatusCode; code != 400 || !strings.Contains(ts.status(data).Message, want) {
			t.Errorf("portforward?%.40s: %d %s, want 400 %q", q, resp.StatusCode, data, want)
		}
	}
	pending := newTestServer(t, func(o *Options) { o.Dialer = loopDialer{} })
	pending.create(goodPod)
	if code, data := pending.do("POST", podsPath+"/myapp/portforward", "", nil); code != 400 ||
		!strings.Contains(pending.status(data).Message, "not Running") {
		t.Errorf("portforward to a pending pod: %d %s", code, data)
	}
}

// sizeExecer reports the terminal sizes it is given until two arrived.
type sizeExecer struct{ sizes chan supervisor.TerminalSize }

func (e sizeExecer) Exec(ctx context.Context, _ string, req supervisor.ExecRequest) (int, error) {
	if !req.TTY || req.Resize == nil || req.Stderr != nil {
		return 1, fmt.Errorf("tty %v resize %v stderr %v", req.TTY, req.Resize != nil, req.Stderr != nil)
	}
	for i := 0; i < 2; i++ {
		select {
		case sz := <-req.Resize:
			e.sizes <- sz
		case <-ctx.Done():
			return 1, ctx.Err()
		}
	}
	_, _ = io.WriteString(req.Stdout, "sized\r\n")
	return 0, nil
}

// twoSizes is a terminal that is 80x24, then resized to 120x40.
type twoSizes struct{ n int }

func (s *twoSizes) Next() *remotecommand.TerminalSize {
	s.n++
	switch s.n {
	case 1:
		return &remotecommand.TerminalSize{Width: 80, Height: 24}
	case 2:
		time.Sleep(50 * time.Millisecond) // a later SIGWINCH, not the same burst
		return &remotecommand.TerminalSize{Width: 120, Height: 40}
	}
	return nil
}

// TestExecTTYResize: kubectl exec -it's sizes (channel 4 of the
// WebSocket, the resize stream of SPDY) reach the runtime in order, and
// a terminal's single output stream is stdout.
func TestExecTTYResize(t *testing.T) {
	for name, newExec := range executors {
		t.Run(name, func(t *testing.T) {
			ex := sizeExecer{sizes: make(chan supervisor.TerminalSize, 2)}
			_, cfg := runningApp(t, func(o *Options) { o.Execer = ex })
			e, err := newExec(cfg, streamURL(cfg, "exec", "command=sh&stdin=true&stdout=true&stderr=true&tty=true"))
			if err != nil {
				t.Fatal(err)
			}
			stdinR, stdinW := io.Pipe()
			defer stdinW.Close()
			var out bytes.Buffer
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: stdinR, Stdout: &out,
				Tty: true, TerminalSizeQueue: &twoSizes{}})
			if err != nil || out.String() != "sized\r\n" {
				t.Fatalf("tty exec: %v, stdout %q", err, out.String())
			}
			if a, b := <-ex.sizes, <-ex.sizes; a != (supervisor.TerminalSize{Width: 80, Height: 24}) ||
				b != (supervisor.TerminalSize{Width: 120, Height: 40}) {
				t.Errorf("sizes %+v then %+v", a, b)
			}
		})
	}
}

// TestExecResizeGarbage is the attack on the WebSocket's one reader: a
// client that sends resize frames without a tty, and garbage for sizes,
// must not stall its own stdin behind them.
func TestExecResizeGarbage(t *testing.T) {
	ex := &echoExecer{gotID: make(chan string, 1)}
	_, cfg := runningApp(t, func(o *Options) { o.Execer = ex })
	u := streamURL(cfg, "exec", "command=cat&stdin=true&stdout=true")
	u.Scheme = "ws"
	d := gwebsocket.Dialer{Subprotocols: []string{"v5.channel.k8s.io"}, HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	send := func(frame ...byte) {
		if err := ws.WriteMessage(gwebsocket.BinaryMessage, frame); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		send(append([]byte{resizeChannel}, `{"Width":80,"Height":24}{not json at all`...)...)
	}
	send(append([]byte{stdinChannel}, "abc"...)...)
	send(255, stdinChannel) // v5's CLOSE of stdin
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var stdout string
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (stdout so far %q): the session stalled", err, stdout)
		}
		if len(msg) > 0 && msg[0] == stdoutChannel {
			stdout += string(msg[1:])
		}
		if len(msg) > 1 && msg[0] == errorChannel {
			break
		}
	}
	if stdout != "ABC" {
		t.Errorf("stdout %q, want ABC", stdout)
	}
}

// blockExecer runs a command that never ends by itself (sleep 1d): it
// says it started, then waits for its context and reports that it ended.
type blockExecer struct{ started, ended chan struct{} }

func (b blockExecer) Exec(ctx context.Context, _ string, req supervisor.ExecRequest) (int, error) {
	_, _ = io.WriteString(req.Stdout, "started\n")
	b.started <- struct{}{}
	<-ctx.Done()
	b.ended <- struct{}{}
	return -1, ctx.Err()
}

// TestExecClientGone: a client killed mid-session ends its command and
// frees its slot, over both transports (net/http ends a hijacked
// request's context when its connection closes); otherwise a command left
// behind (sleep 1d) would hold a slot until it exited by itself.
func TestExecClientGone(t *testing.T) {
	for name, newExec := range executors {
		t.Run(name, func(t *testing.T) {
			ex := blockExecer{started: make(chan struct{}, 1), ended: make(chan struct{}, 1)}
			ts, cfg := runningApp(t, func(o *Options) { o.Execer = ex })
			// Through a proxy whose connections the test cuts: a client
			// killed mid-session (SPDY's own close waits for its streams).
			px := cutProxy(t, strings.TrimPrefix(cfg.Host, "http://"))
			cfg = &rest.Config{Host: "http://" + px.addr}
			e, err := newExec(cfg, streamURL(cfg, "exec", "command=sleep&command=1d&stdout=true"))
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard}) }()
			<-ex.started
			px.cut() // the client goes away
			select {
			case <-ex.ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the command outlived its client")
			}
			waitFree(t, ts.srv.execSlots, 0)
			// client-go's SPDY executor itself notices the cut only
			// after its stream timeout; done is not waited for.
		})
	}
}

// proxy forwards TCP connections to a target until cut.
type proxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func cutProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &proxy{addr: ln.Addr().String()}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// cut closes every connection both ways, as a killed client's kernel does.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
