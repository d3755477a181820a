// Package client is podctl's REST client for podrund over its unix socket.
// It speaks the paths of docs/contract.md §3 and turns Status bodies into
// *StatusError values.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"

	"github.com/podrun/podrun/api"
)

// DefaultSocket is where podrund listens unless told otherwise.
const DefaultSocket = "/run/podrund/podrund.sock"

// SocketEnv names the environment variable that overrides DefaultSocket.
const SocketEnv = "PODRUND_SOCKET"

// baseURL is a placeholder host: every request goes over the unix socket.
const baseURL = "http://podrund"

// Client talks to one podrund.
type Client struct {
	socket string
	http   *http.Client
	warn   func(text string)
	// force adds force=true to every write: past a manifest file's
	// ownership of the object (contract §3).
	force bool
}

// OnWarning sets what is done with each warning podrund sends with an
// answer (Warning headers, e.g. a pod field podrun runs differently from
// the kubelet); nil ignores them.
func (c *Client) OnWarning(f func(text string)) { c.warn = f }

// New returns a client for the podrund listening on socket. An empty socket
// means $PODRUND_SOCKET, else DefaultSocket.
func New(socket string) *Client {
	if socket == "" {
		socket = os.Getenv(SocketEnv)
	}
	if socket == "" {
		socket = DefaultSocket
	}
	c := &Client{socket: socket}
	tr := &http.Transport{
		DialContext:        c.dial,
		DisableCompression: true,
	}
	c.http = &http.Client{Transport: tr}
	return c
}

// NewWithTransport returns a client whose requests go through rt instead
// of the socket (podrund's manifest directory calls its own handlers so).
func NewWithTransport(rt http.RoundTripper) *Client {
	return &Client{socket: "(in process)", http: &http.Client{Transport: rt}}
}

// WithForce is a copy of c whose writes are forced past the manifest
// file that owns an object (podctl --force).
func (c *Client) WithForce() *Client {
	cp := *c
	cp.force = true
	return &cp
}

// writeQuery is the query of a POST, PUT or DELETE.
func (c *Client) writeQuery() url.Values {
	q := url.Values{}
	if c.force {
		q.Set("force", "true")
	}
	return q
}

// CloseIdleConnections closes the kept-alive connections no request is
// using, so that a look at the daemon's goroutines or fds counts only work.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Socket is the path of the socket this client dials.
func (c *Client) Socket() string { return c.socket }

func (c *Client) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, &UnreachableError{Socket: c.socket, Err: err}
	}
	return conn, nil
}

// UnreachableError says that the socket does not exist or nobody listens.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	msg := fmt.Sprintf("cannot reach podrund at %s: is podrund running?", e.Socket)
	switch {
	case errors.Is(e.Err, syscall.ENOENT):
		return msg + " (the socket does not exist)"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return msg + " (connection refused)"
	case errors.Is(e.Err, syscall.EACCES):
		return fmt.Sprintf("cannot reach podrund at %s: permission denied (run as root or a member of the socket's group)", e.Socket)
	}
	return fmt.Sprintf("%s (%v)", msg, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// request is one REST call.
type request struct {
	method      string
	path        string
	query       url.Values
	body        io.Reader
	contentType string
}

func (r request) url() string {
	u := baseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	return u
}

// send performs r and returns the response when its code is 2xx (or 101);
// any other response is turned into an error from its Status body.
func (c *Client) send(ctx context.Context, r request, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url(), r.body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", r.method, r.path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *UnreachableError
		if errors.As(err, &ue) {
			return nil, ue
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	c.warnings(resp.Header)
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, statusErrorFrom(resp)
}

// call performs r and returns its JSON answer decoded as a T.
func call[T any](ctx context.Context, c *Client, r request) (*T, error) {
	var out T
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// do performs r and decodes a JSON answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// jsonBody encodes obj for a POST or PUT.
func jsonBody(obj any) (io.Reader, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	return bytes.NewReader(b), nil
}

// warnings hands the answer's Warning headers to the warning handler.
func (c *Client) warnings(h http.Header) {
	if c.warn == nil {
		return
	}
	for _, v := range h.Values("Warning") {
		if text, ok := api.ParseWarningHeader(v); ok {
			c.warn(text)
		}
	}
}
