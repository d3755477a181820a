package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/api"
)

// ExecStdin is the command's stdin: the client's stdin frames.
type ExecStdin struct{ *io.PipeReader }

// ExecOutput writes frames of one output stream.
type ExecOutput struct{ io.Writer }

// serveExec upgrades the connection and runs s.Exec with the streams of
// api/execstream.go.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request, ns, name string) {
	if s.Get("pods", ns, name) == nil {
		notFound(w, "pods", name)
		return
	}
	if s.Exec == nil {
		writeStatus(w, 400, metav1.StatusReasonBadRequest, "exec is not set up in this fake")
		return
	}
	if r.Header.Get("Upgrade") != api.ExecUpgradeProtocol {
		writeStatus(w, 400, metav1.StatusReasonBadRequest, "exec needs Upgrade: %s", api.ExecUpgradeProtocol)
		return
	}
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", api.ExecUpgradeProtocol)
	if err := brw.Flush(); err != nil {
		return
	}
	q := r.URL.Query()
	fw := api.NewFrameWriter(conn)
	stdinR, stdinW := io.Pipe()
	resize := make(chan api.TerminalSize, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // demultiplex client frames until the connection closes
		defer wg.Done()
		defer stdinW.Close()
		for {
			stream, payload, err := api.ReadFrame(brw)
			if err != nil {
				return
			}
			switch {
			case stream == api.StreamStdin && len(payload) == 0:
				stdinW.Close()
			case stream == api.StreamStdin:
				_, _ = stdinW.Write(payload)
			case stream == api.StreamResize:
				var sz api.TerminalSize
				if json.Unmarshal(payload, &sz) == nil {
					select {
					case resize <- sz:
					default:
					}
				}
			}
		}
	}()
	var stdin *ExecStdin
	if q.Get("stdin") == "true" {
		stdin = &ExecStdin{stdinR}
	}
	code := s.Exec(q.Get("container"), q["command"], q.Get("tty") == "true", stdin,
		&ExecOutput{fw.StreamWriter(api.StreamStdout)}, &ExecOutput{fw.StreamWriter(api.StreamStderr)}, resize)
	b, _ := json.Marshal(api.ExecExit{ExitCode: code})
	_ = fw.WriteFrame(api.StreamExit, b)
	stdinR.Close()
	conn.Close()
	wg.Wait()
}
