package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/podrun/podrun/api"
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
	Resize <-chan api.TerminalSize
}

func (o ExecOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	q["command"] = o.Command
	if o.Stdin != nil {
		q.Set("stdin", "true")
	}
	if o.TTY {
		q.Set("tty", "true")
	}
	return q
}

// Exec runs a command in a container of pod ns/name over an upgraded
// connection (the framing of api/execstream.go) and returns its exit code.
// An error means the command could not be run or the stream broke.
func (c *Client) Exec(ctx context.Context, ns, name string, o ExecOptions) (int, error) {
	if len(o.Command) == 0 {
		return -1, errors.New("exec: no command given")
	}
	hdr := http.Header{}
	hdr.Set("Connection", "Upgrade")
	hdr.Set("Upgrade", api.ExecUpgradeProtocol)
	path := Pods.ObjectPath(ns, name) + "/exec"
	resp, err := c.send(ctx, request{method: "POST", path: path, query: o.query()}, hdr)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body.Close()
		return -1, fmt.Errorf("exec: podrund answered %s instead of switching to %s", resp.Status, api.ExecUpgradeProtocol)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return -1, errors.New("exec: the upgraded connection is not writable")
	}
	return runExecStream(ctx, conn, o)
}

// runExecStream pumps stdin and resizes out and output in until the exit
// frame arrives.
func runExecStream(ctx context.Context, conn io.ReadWriteCloser, o ExecOptions) (int, error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(done)
		conn.Close()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	fw := api.NewFrameWriter(conn)
	if o.Stdin != nil {
		// Not in wg: a read of a terminal cannot be interrupted, so this
		// goroutine may outlive the call; its writes fail once conn closes.
		go sendStdin(fw, o.Stdin)
	}
	if o.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendResizes(fw, o.Resize, done)
		}()
	}
	code, err := readOutput(conn, o)
	if err != nil && ctx.Err() != nil {
		return -1, fmt.Errorf("exec: %w", ctx.Err())
	}
	return code, err
}

func sendStdin(fw *api.FrameWriter, in io.Reader) {
	buf := make([]byte, 32*1024)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if werr := fw.WriteFrame(api.StreamStdin, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// An empty stdin frame tells the server stdin is closed.
			_ = fw.WriteFrame(api.StreamStdin, nil)
			return
		}
	}
}

func sendResizes(fw *api.FrameWriter, sizes <-chan api.TerminalSize, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			b, _ := json.Marshal(sz)
			if err := fw.WriteFrame(api.StreamResize, b); err != nil {
				return
			}
		}
	}
}

func readOutput(conn io.Reader, o ExecOptions) (int, error) {
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		stream, payload, err := api.ReadFrame(conn)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return -1, errors.New("exec: the connection closed before the command's exit status arrived")
			}
			return -1, fmt.Errorf("exec: read stream: %w", err)
		}
		switch stream {
		case api.StreamStdout:
			if _, err := stdout.Write(payload); err != nil {
				return -1, fmt.Errorf("exec: write stdout: %w", err)
			}
		case api.StreamStderr:
			if _, err := stderr.Write(payload); err != nil {
				return -1, fmt.Errorf("exec: write stderr: %w", err)
			}
		case api.StreamExit:
			var ex api.ExecExit
			if err := json.Unmarshal(payload, &ex); err != nil {
				return -1, fmt.Errorf("exec: bad exit frame %q: %w", payload, err)
			}
			if ex.ExitCode < 0 {
				if ex.Error == "" {
					ex.Error = "the command's exit status is unknown"
				}
				return -1, fmt.Errorf("exec: %s", ex.Error)
			}
			return ex.ExitCode, nil
		}
	}
}
