package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"k8s.io/client-go/tools/remotecommand"
	clientspdy "k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

// ExecOptions describe a command to run in a container of a pod.
type ExecOptions struct {
	Container string
	Command   []string
	// Stdin, when not nil, is sent to the command; its EOF closes the
	// command's stdin.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output (nil: discarded).
	// With TTY the terminal's output all arrives on Stdout.
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	// Resize, when not nil, carries terminal size changes.
	Resize remotecommand.TerminalSizeQueue
}

func (o ExecOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	q["command"] = o.Command
	for name, on := range map[string]bool{"stdin": o.Stdin != nil, "stdout": true, "stderr": !o.TTY, "tty": o.TTY} {
		if on {
			q.Set(name, "true")
		}
	}
	return q
}

// Exec runs a command in a container of pod ns/name and returns its exit
// code. An error means the command could not be run or the stream broke.
//
// It speaks the kubelet's SPDY protocol through client-go's executor:
// client-go's WebSocket executor builds its own dialer from TLS and proxy
// settings and has no place for the unix socket's, while its SPDY round
// tripper takes a transport to dial with. Over HTTPS kubectl's WebSocket
// path reaches the same handler (docs/contract.md §3).
func (c *Client) Exec(ctx context.Context, ns, name string, o ExecOptions) (int, error) {
	if len(o.Command) == 0 {
		return -1, errors.New("exec: no command given")
	}
	ex, err := c.streamExecutor(Pods.ObjectPath(ns, name)+"/exec", o.query())
	if err != nil {
		return -1, err
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: o.Stdin, Stdout: orDiscard(o.Stdout),
		Stderr: orDiscard(o.Stderr), Tty: o.TTY, TerminalSizeQueue: o.Resize})
	var exit utilexec.CodeExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.Code, nil
	case ctx.Err() != nil:
		return -1, fmt.Errorf("exec: %w", ctx.Err())
	}
	return -1, fmt.Errorf("exec: %w", err)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// upgrader is client-go's SPDY round tripper dialing the socket.
func (c *Client) upgrader() (*spdy.SpdyRoundTripper, error) {
	return spdy.NewRoundTripperWithConfig(spdy.RoundTripperConfig{
		UpgradeTransport: &http.Transport{DialContext: c.dial}})
}

func (c *Client) streamExecutor(path string, q url.Values) (remotecommand.Executor, error) {
	u, err := url.Parse(request{path: path, query: q}.url())
	if err != nil {
		return nil, err
	}
	up, err := c.upgrader()
	if err != nil {
		return nil, err
	}
	return remotecommand.NewSPDYExecutorForTransports(up, clientspdy.NewUpgraderForStreaming(up), http.MethodPost, u)
}

// PortForwardDialer returns the dialer client-go's portforward package
// opens its SPDY connection to .../pods/NAME/portforward with.
func (c *Client) PortForwardDialer(ns, name string) (httpstream.Dialer, error) {
	u, err := url.Parse(request{path: Pods.ObjectPath(ns, name) + "/portforward"}.url())
	if err != nil {
		return nil, err
	}
	up, err := c.upgrader()
	if err != nil {
		return nil, err
	}
	return clientspdy.NewDialerForStreaming(clientspdy.NewUpgraderForStreaming(up), &http.Client{Transport: up}, http.MethodPost, u), nil
}
