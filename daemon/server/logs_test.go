package server

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/crilog/crilogtest"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
)

var criLine = crilogtest.Line

// logFixture creates a pod whose container "app" had two instances: attempt
// 0 (exited) and attempt 1 (running) with a rotated file.
func logFixture(t *testing.T, ts *testServer) (*corev1.Pod, string) {
	t.Helper()
	p := ts.create(goodPod)
	dir := filepath.Join(ts.root, "logs", "default_myapp_"+string(p.UID), "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := now.Add(-time.Hour)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0.log", criLine(old, "stdout", "F", "first run"))
	write("1.log.2", criLine(old, "stdout", "F", "r2")+criLine(old, "stderr", "F", "r2-err"))
	write("1.log.1", criLine(old, "stdout", "P", "joined ")+criLine(old, "stdout", "F", "line"))
	write("1.log", criLine(now, "stdout", "F", "recent-a")+criLine(now, "stdout", "F", "recent-b"))
	ts.engine.setEngineState(p.UID, supervisor.EngineState{Instances: []supervisor.Instance{
		{ID: "i0", Container: "app", Attempt: 0, State: supervisor.InstanceExited, LogPath: filepath.Join(dir, "0.log")},
		{ID: "i1", Container: "app", Attempt: 1, State: supervisor.InstanceRunning}, // path derived from the layout
	}})
	return p, filepath.Join(dir, "1.log")
}

func TestLogModes(t *testing.T) {
	ts := newTestServer(t, nil)
	logFixture(t, ts)
	cases := []struct{ query, want string }{
		{"", "r2\nr2-err\njoined line\nrecent-a\nrecent-b\n"},
		{"?container=app&tailLines=2", "recent-a\nrecent-b\n"},
		{"?tailLines=0", ""},
		{"?sinceSeconds=60", "recent-a\nrecent-b\n"},
		{"?previous=true", "first run\n"},
	}
	for _, tc := range cases {
		code, body := ts.do("GET", podsPath+"/myapp/log"+tc.query, "", nil)
		if code != 200 || string(body) != tc.want {
			t.Errorf("log%s = %d %q, want %q", tc.query, code, body, tc.want)
		}
	}
	code, body := ts.do("GET", podsPath+"/myapp/log?timestamps=true&tailLines=1", "", nil)
	parts := strings.SplitN(strings.TrimSpace(string(body)), " ", 2)
	if _, err := time.Parse(time.RFC3339Nano, parts[0]); code != 200 || err != nil || parts[1] != "recent-b" {
		t.Errorf("timestamps: %d %q", code, body)
	}
	for _, q := range []string{"?container=nope", "?tailLines=-1", "?follow=maybe"} {
		if code, body := ts.do("GET", podsPath+"/myapp/log"+q, "", nil); code != 400 {
			t.Errorf("log%s = %d %s, want 400", q, code, body)
		}
	}
}

func TestLogNoPreviousInstance(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	ts.engine.setEngineState(p.UID, supervisor.EngineState{Waiting: map[string]supervisor.WaitingReason{
		"app": {Reason: "ErrImagePull"}}})
	code, body := ts.do("GET", podsPath+"/myapp/log", "", nil)
	if code != 400 || !strings.Contains(ts.status(body).Message, "waiting to start: ErrImagePull") {
		t.Fatalf("log of a waiting container: %d %s", code, body)
	}
}

// Follow streams new lines, survives a rotation and ends once the instance
// exited and its file is drained.
func TestLogFollow(t *testing.T) {
	ts := newTestServer(t, nil)
	p, path := logFixture(t, ts)
	req, _ := http.NewRequest("GET", "http://podrund"+podsPath+"/myapp/log?follow=true&tailLines=1", nil)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	expect := func(want string) {
		t.Helper()
		line, err := rd.ReadString('\n')
		if err != nil || line != want+"\n" {
			t.Fatalf("read %q (%v), want %q", line, err, want)
		}
	}
	expect("recent-b")
	appendTo := func(p, text string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(text)
		_ = f.Close()
	}
	appendTo(path, criLine(time.Now(), "stdout", "F", "live-1"))
	expect("live-1")
	// Rotate: the written file moves to .1 (after one more line), a new file starts.
	appendTo(path, criLine(time.Now(), "stdout", "F", "before-rotate"))
	_ = os.Rename(path+".1", path+".3")
	_ = os.Rename(path, path+".1")
	appendTo(path, criLine(time.Now(), "stdout", "F", "after-rotate"))
	expect("before-rotate")
	expect("after-rotate")
	// The instance exits with a last line written: follow ends after it.
	appendTo(path, criLine(time.Now(), "stdout", "F", "last words"))
	st := supervisor.EngineState{Instances: []supervisor.Instance{
		{ID: "i1", Container: "app", Attempt: 1, State: supervisor.InstanceExited}}}
	ts.engine.setEngineState(p.UID, st)
	rest, err := io.ReadAll(rd)
	if err != nil || string(rest) != "last words\n" {
		t.Fatalf("end of follow: %q %v", rest, err)
	}
}
