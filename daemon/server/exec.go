package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
)

// exec serves POST .../pods/NAME/exec?container=C&command=..&stdin=&tty=
// upgraded to "podrun-exec/1" (framing in api/execstream.go): after
// "101 Switching Protocols" the client sends stdin and resize frames, the
// server stdout, stderr and, last, the exit frame. Errors found before the
// upgrade are ordinary Status bodies.
func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	req, id, err := s.execRequest(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	release, err := s.execSlots.acquire()
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer release()
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.writeError(w, fmt.Errorf("exec: the connection cannot be upgraded"))
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		s.log.Warn("exec: hijack connection", zap.Error(err))
		return
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+
		api.ExecUpgradeProtocol+"\r\n\r\n")
	if err != nil {
		return
	}
	s.runExec(r.Context(), conn, brw.Reader, id, req)
}

// execRequest checks everything that can fail before the upgrade.
func (s *Server) execRequest(r *http.Request) (supervisor.ExecRequest, string, error) {
	var req supervisor.ExecRequest
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", api.ExecUpgradeProtocol) {
		return req, "", api.NewBadRequest("exec needs the headers Connection: Upgrade and Upgrade: " + api.ExecUpgradeProtocol)
	}
	if s.o.Execer == nil || s.eng() == nil {
		return req, "", api.NewServiceUnavailable("the container runtime is not connected")
	}
	q := r.URL.Query()
	req.Command = q["command"]
	if len(req.Command) == 0 {
		return req, "", api.NewBadRequest("at least one command argument is required (command=...)")
	}
	stdin, err := queryBool(r, "stdin")
	if err != nil {
		return req, "", err
	}
	if req.TTY, err = queryBool(r, "tty"); err != nil {
		return req, "", err
	}
	if stdin {
		req.Stdin = strings.NewReader("") // replaced by the stream's pipe in runExec
	}
	rec, err := s.obj.Pod(r.Context(), chi.URLParam(r, "ns"), chi.URLParam(r, "name"))
	if err != nil {
		return req, "", err
	}
	container := q.Get("container")
	if container == "" && len(rec.Pod.Spec.Containers) > 0 {
		container = rec.Pod.Spec.Containers[0].Name // kubectl's default container
	}
	if _, err := pickContainer(rec.Pod, container); err != nil {
		return req, "", err
	}
	inst, ok := s.eng().Instance(rec.Pod.UID, container)
	if !ok || inst.State != supervisor.InstanceRunning {
		return req, "", api.NewBadRequest(fmt.Sprintf(
			"container %s is not running in pod %s", container, rec.Pod.Name))
	}
	return req, inst.ID, nil
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// runExec pumps client frames into stdin/resize, runs the command and
// sends its exit status as the last frame.
func (s *Server) runExec(ctx context.Context, conn net.Conn, rd *bufio.Reader, id string, req supervisor.ExecRequest) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fw := api.NewFrameWriter(conn)
	req.Stdout = fw.StreamWriter(api.StreamStdout)
	req.Stderr = fw.StreamWriter(api.StreamStderr)
	var stdinW *io.PipeWriter
	if req.Stdin != nil {
		var pr *io.PipeReader
		pr, stdinW = io.Pipe()
		req.Stdin = pr
		// A command that never read its stdin must not leave the frame
		// reader blocked on the pipe.
		defer pr.Close()
	}
	resize := make(chan supervisor.TerminalSize, 4)
	if req.TTY {
		req.Resize = resize
	}
	go s.readExecFrames(ctx, cancel, rd, stdinW, resize, req.TTY)
	code, err := s.o.Execer.Exec(ctx, id, req)
	exit := api.ExecExit{ExitCode: code}
	if err != nil {
		exit = api.ExecExit{ExitCode: -1, Error: err.Error()}
	}
	payload, _ := json.Marshal(exit)
	if werr := fw.WriteFrame(api.StreamExit, payload); werr != nil {
		s.log.Debug("exec: send exit frame", zap.Error(werr))
	}
}

// readExecFrames reads the client's frames until it closes the stream.
// A client that goes away ends the command's context.
func (s *Server) readExecFrames(ctx context.Context, cancel context.CancelFunc, rd io.Reader,
	stdin *io.PipeWriter, resize chan<- supervisor.TerminalSize, tty bool) {
	closeStdin := func() {
		if stdin != nil {
			_ = stdin.Close()
			stdin = nil
		}
	}
	defer closeStdin()
	for {
		stream, payload, err := api.ReadFrame(rd)
		if err != nil {
			cancel()
			return
		}
		switch stream {
		case api.StreamStdin:
			if len(payload) == 0 {
				closeStdin()
			} else if stdin != nil {
				if _, err := stdin.Write(payload); err != nil {
					closeStdin()
				}
			}
		case api.StreamResize:
			var ts api.TerminalSize
			if json.Unmarshal(payload, &ts) == nil && tty {
				select {
				case resize <- supervisor.TerminalSize{Width: ts.Width, Height: ts.Height}:
				case <-ctx.Done():
					return
				default: // a resize burst: the latest sizes that fit are enough
				}
			}
		}
	}
}
