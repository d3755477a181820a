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
	"testing"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/supervisor"
)

// echoExecer copies stdin to stdout in upper case, says hello on stderr and
// exits with the command's length.
type echoExecer struct{ gotID chan string }

func (e *echoExecer) Exec(ctx context.Context, id string, req supervisor.ExecRequest) (int, error) {
	e.gotID <- id
	_, _ = fmt.Fprintf(req.Stderr, "hello %s\n", strings.Join(req.Command, " "))
	if req.Stdin != nil {
		data, _ := io.ReadAll(req.Stdin)
		_, _ = req.Stdout.Write([]byte(strings.ToUpper(string(data))))
	}
	if req.Command[0] == "fail" {
		return 0, fmt.Errorf("exec failed: no such binary")
	}
	return len(req.Command), nil
}

func (ts *testServer) dialExec(query string) (net.Conn, *bufio.Reader, *http.Response) {
	ts.t.Helper()
	tr := ts.client.Transport.(*http.Transport)
	conn, err := tr.DialContext(context.Background(), "unix", "")
	if err != nil {
		ts.t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s/myapp/exec?%s HTTP/1.1\r\nHost: podrund\r\nConnection: Upgrade\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n",
		podsPath, query, api.ExecUpgradeProtocol)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return conn, br, resp
}

func TestExecStreams(t *testing.T) {
	ex := &echoExecer{gotID: make(chan string, 1)}
	ts := newTestServer(t, func(o *Options) { o.Execer = ex })
	p := ts.create(goodPod)
	ts.engine.instances[string(p.UID)+"/app"] = supervisor.Instance{ID: "inst-1", State: supervisor.InstanceRunning}

	conn, br, resp := ts.dialExec("container=app&command=cat&command=-&stdin=true")
	defer conn.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != api.ExecUpgradeProtocol {
		t.Fatalf("upgrade answer %d %v", resp.StatusCode, resp.Header)
	}
	fw := api.NewFrameWriter(conn)
	_ = fw.WriteFrame(api.StreamStdin, []byte("abc"))
	_ = fw.WriteFrame(api.StreamResize, []byte(`{"width":80,"height":24}`))
	_ = fw.WriteFrame(api.StreamStdin, nil) // stdin closed
	got := map[byte]string{}
	for {
		stream, payload, err := api.ReadFrame(br)
		if err != nil {
			t.Fatalf("read frame: %v (so far %v)", err, got)
		}
		got[stream] += string(payload)
		if stream == api.StreamExit {
			break
		}
	}
	var exit api.ExecExit
	_ = json.Unmarshal([]byte(got[api.StreamExit]), &exit)
	if got[api.StreamStdout] != "ABC" || got[api.StreamStderr] != "hello cat -\n" || exit.ExitCode != 2 {
		t.Fatalf("frames %q", got)
	}
	if id := <-ex.gotID; id != "inst-1" {
		t.Fatalf("exec ran in %s", id)
	}

	conn2, br2, _ := ts.dialExec("command=fail")
	defer conn2.Close()
	for {
		stream, payload, err := api.ReadFrame(br2)
		if err != nil {
			t.Fatal(err)
		}
		if stream == api.StreamExit {
			_ = json.Unmarshal(payload, &exit)
			break
		}
	}
	if exit.ExitCode != -1 || !strings.Contains(exit.Error, "no such binary") {
		t.Fatalf("failed exec exit %+v", exit)
	}
}

func TestExecErrorsBeforeUpgrade(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Execer = &echoExecer{gotID: make(chan string, 1)} })
	ts.create(goodPod)
	// Not running yet: a Status body, no upgrade.
	conn, br, resp := ts.dialExec("command=ls")
	defer conn.Close()
	body, _ := io.ReadAll(io.LimitReader(br, int64(resp.ContentLength)))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "not running") {
		t.Fatalf("exec in a container that is not running: %d %s", resp.StatusCode, body)
	}
	// Without the upgrade headers.
	code, data := ts.do("POST", podsPath+"/myapp/exec?command=ls", "", nil)
	if code != 400 || !strings.Contains(ts.status(data).Message, "Upgrade") {
		t.Fatalf("exec without upgrade: %d %s", code, data)
	}
}
