package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/util/wait"
)

// expectTooMany checks a refused session: 429, reason TooManyRequests in
// the Status body and a Retry-After header.
func expectTooMany(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		resp.Body.Close() // a session granted: do not read it to its end
		t.Fatalf("%s over the cap: %d, want 429", what, resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("%s over the cap: Retry-After %q, want 1", what, got)
	}
	ts := &testServer{t: t}
	st := ts.status(body)
	if st.Reason != metav1.StatusReasonTooManyRequests || !strings.Contains(st.Message, what) {
		t.Errorf("%s over the cap: status %+v", what, st)
	}
}

// get starts a GET whose body the caller reads and closes.
func (ts *testServer) get(path string) *http.Response {
	ts.t.Helper()
	req, _ := http.NewRequest("GET", "http://podrund"+path, nil)
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// waitFree waits until the server has noticed a closed session.
func waitFree(t *testing.T, s *slots, want int) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return s.inUse() == want, nil }); err != nil {
		t.Fatalf("%s in use: %d, want %d: a closed session kept its slot", s.what, s.inUse(), want)
	}
}

func TestWatchCap(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Limits.Watches = 2 })
	_, stop1 := ts.watch(podsPath + "?watch=true")
	_, stop2 := ts.watch("/api/v1/pods?watch=true")
	defer stop2()
	expectTooMany(t, ts.get(podsPath+"?watch=true"), "watches")
	// A plain list is no watch: still served.
	if code, body := ts.do("GET", podsPath, "", nil); code != 200 {
		t.Fatalf("list at the watch cap: %d %s", code, body)
	}
	stop1()
	waitFree(t, ts.srv.watches, 1)
	next, stop3 := ts.watch(podsPath + "?watch=true")
	defer stop3()
	ts.create(goodPod)
	if typ, p := next(); typ != "ADDED" || p.Name != "myapp" {
		t.Fatalf("watch after a slot was freed: %s %s", typ, p.Name)
	}
}

func TestLogFollowCap(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Limits.LogFollows = 2 })
	logFixture(t, ts)
	r1 := ts.get(podsPath + "/myapp/log?follow=true")
	r2 := ts.get(podsPath + "/myapp/log?follow=true&tailLines=1")
	defer r2.Body.Close()
	for _, r := range []*http.Response{r1, r2} {
		if r.StatusCode != 200 {
			t.Fatalf("follow under the cap: %d", r.StatusCode)
		}
	}
	expectTooMany(t, ts.get(podsPath+"/myapp/log?follow=true"), "log follows")
	// Reading without follow, and previous (which never follows), are no
	// follows.
	for _, q := range []string{"", "?previous=true&follow=true"} {
		if code, body := ts.do("GET", podsPath+"/myapp/log"+q, "", nil); code != 200 {
			t.Fatalf("log%s at the follow cap: %d %s", q, code, body)
		}
	}
	r1.Body.Close()
	waitFree(t, ts.srv.follows, 1)
	r3 := ts.get(podsPath + "/myapp/log?follow=true&tailLines=1")
	defer r3.Body.Close()
	if line, err := bufio.NewReader(r3.Body).ReadString('\n'); r3.StatusCode != 200 || line != "recent-b\n" {
		t.Fatalf("follow after a slot was freed: %d %q %v", r3.StatusCode, line, err)
	}
}

// dialRaw opens a plain connection to the test server's socket.
func (ts *testServer) dialRaw() net.Conn {
	ts.t.Helper()
	conn, err := ts.client.Transport.(*http.Transport).DialContext(context.Background(), "unix", "")
	if err != nil {
		ts.t.Fatal(err)
	}
	return conn
}

// closedWithin reads conn until the server closes it, failing after wait
// (well above the limit under test, far below the default).
func closedWithin(t *testing.T, conn net.Conn, wait time.Duration) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %s (read %q)", wait, got)
	}
	return string(got)
}

// A client that sends part of a request header and then nothing is
// dropped at ReadHeaderTimeout.
func TestSlowlorisHeaderDropped(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Limits.ReadHeaderTimeout = 200 * time.Millisecond })
	conn := ts.dialRaw()
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /version HTTP/1.1\r\nHost: podrund\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, conn, 5*time.Second)
}

// A client that sends a header promising a body and then stalls is
// dropped at RequestTimeout; so is one that sends requests but never
// reads the answers (the write deadline).
func TestSlowBodyDropped(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Limits.RequestTimeout = 300 * time.Millisecond })
	conn := ts.dialRaw()
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: podrund\r\nContent-Type: application/yaml\r\nContent-Length: 100000\r\n\r\napiVersion: v1\n", podsPath)
	out := closedWithin(t, conn, 5*time.Second)
	if out != "" && !strings.Contains(out, " 400 ") && !strings.Contains(out, " 504 ") {
		t.Fatalf("stalled body answered %q", out)
	}
}

// Long-running sessions are exempt from RequestTimeout: a watch opened on
// a kept-alive connection right after an ordinary request still delivers
// events well after that request's deadline.
func TestWatchOutlivesRequestTimeout(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.Limits.RequestTimeout = 200 * time.Millisecond })
	if code, _ := ts.do("GET", "/version", "", nil); code != 200 {
		t.Fatalf("version: %d", code)
	}
	next, stop := ts.watch(podsPath + "?watch=true") // same pooled connection
	defer stop()
	time.Sleep(600 * time.Millisecond)
	ts.create(goodPod)
	if typ, p := next(); typ != "ADDED" || p.Name != "myapp" {
		t.Fatalf("watch past the request timeout: %s %s", typ, p.Name)
	}
}

func TestLongRunningRequests(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		want        bool
	}{
		{"GET", "/api/v1/pods?watch=true", true},
		{"GET", "/api/v1/namespaces/a/pods?watch=1", true},
		{"GET", "/api/v1/namespaces/a/pods?watch=false", false},
		{"GET", "/api/v1/namespaces/a/pods/p/log?follow=true", true},
		{"GET", "/api/v1/namespaces/a/pods/p/log", false},
		{"POST", "/api/v1/namespaces/a/pods/p/exec?command=ls", true},
		{"POST", "/images/import", true},
		{"POST", "/images/pull?ref=x", true},
		{"DELETE", "/images?ref=x", false},
		{"POST", "/api/v1/namespaces/a/pods", false},
		{"GET", "/version", false},
	} {
		r, _ := http.NewRequest(tc.method, "http://podrund"+tc.url, nil)
		if got := longRunning(r); got != tc.want {
			t.Errorf("longRunning(%s %s) = %v, want %v", tc.method, tc.url, got, tc.want)
		}
	}
}
