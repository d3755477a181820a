package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serveUnix starts h on a unix socket in a temp dir and returns a client for it.
func serveUnix(t *testing.T, h http.Handler) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podrund.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return New(sock)
}

func writeStatus(w http.ResponseWriter, st metav1.Status) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}

func TestStatusErrorDecoding(t *testing.T) {
	invalid := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: 422, Reason: metav1.StatusReasonInvalid,
		Message: `Pod "x" is invalid: spec.containers[0].image: Required value`,
		Details: &metav1.StatusDetails{Name: "x", Kind: "Pod", Causes: []metav1.StatusCause{
			{Type: metav1.CauseTypeFieldValueRequired, Field: "spec.containers[0].image", Message: "Required value"},
		}},
	}
	c := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/namespaces/default/pods":
			writeStatus(w, invalid)
		case "/api/v1/namespaces/default/pods/gone":
			writeStatus(w, metav1.Status{Code: 404, Reason: metav1.StatusReasonNotFound, Message: `pods "gone" not found`})
		default:
			http.Error(w, "boom", http.StatusBadGateway)
		}
	}))
	ctx := context.Background()

	err := c.Create(ctx, Pods, "default", &corev1.Pod{}, nil)
	se, ok := AsStatusError(err)
	if !ok {
		t.Fatalf("Create error %T %v, want *StatusError", err, err)
	}
	if se.Code() != 422 || se.Reason() != metav1.StatusReasonInvalid || se.Error() != invalid.Message {
		t.Errorf("got code %d reason %s message %q", se.Code(), se.Reason(), se.Error())
	}
	if causes := se.Causes(); len(causes) != 1 || causes[0].Field != "spec.containers[0].image" {
		t.Errorf("causes = %+v", causes)
	}

	err = c.Get(ctx, Pods, "default", "gone", &corev1.Pod{})
	if !IsNotFound(err) || IsAlreadyExists(err) {
		t.Errorf("Get of a missing pod: %v, want NotFound", err)
	}

	err = c.Get(ctx, Pods, "default", "other", &corev1.Pod{})
	se, ok = AsStatusError(err)
	if !ok || se.Code() != 502 || !strings.Contains(se.Error(), "boom") {
		t.Errorf("non-Status error body: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	err := New(sock).Ready(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("got %T %v, want *UnreachableError", err, err)
	}
	want := "cannot reach podrund at " + sock + ": is podrund running?"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q does not start with %q", err.Error(), want)
	}
}

func TestSocketFromEnv(t *testing.T) {
	t.Setenv(SocketEnv, "/tmp/x.sock")
	if got := New("").Socket(); got != "/tmp/x.sock" {
		t.Errorf("socket = %q", got)
	}
	if got := New("/a.sock").Socket(); got != "/a.sock" {
		t.Errorf("socket = %q", got)
	}
	t.Setenv(SocketEnv, "")
	if got := New("").Socket(); got != DefaultSocket {
		t.Errorf("socket = %q", got)
	}
}

func TestPathsAndQueries(t *testing.T) {
	got := make(chan string, 10)
	c := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.RequestURI()
		fmt.Fprint(w, `{}`)
	}))
	ctx := context.Background()
	grace := int64(3)
	_ = c.Delete(ctx, Pods, "ns1", "p", DeleteOptions{GracePeriodSeconds: &grace}, nil)
	_ = c.List(ctx, Jobs, "", &struct{}{})
	_ = c.Update(ctx, ConfigMaps, "default", "cm", struct{}{}, nil)
	_, _ = c.PullImage(ctx, "busybox:1.28")
	for _, want := range []string{
		"DELETE /api/v1/namespaces/ns1/pods/p?gracePeriodSeconds=3",
		"GET /apis/batch/v1/jobs",
		"PUT /api/v1/namespaces/default/configmaps/cm",
		"POST /images/pull?ref=busybox%3A1.28",
	} {
		if g := <-got; g != want {
			t.Errorf("request %q, want %q", g, want)
		}
	}
}

func TestWatchDecoding(t *testing.T) {
	c := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" || r.URL.Query().Get("fieldSelector") != "metadata.name=p" {
			http.Error(w, "bad query "+r.URL.RawQuery, 400)
			return
		}
		fmt.Fprintln(w, `{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"p"}}}`)
		w.(http.Flusher).Flush()
		fmt.Fprintln(w, `{"type":"DELETED","object":{"kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Succeeded"}}}`)
		fmt.Fprintln(w, `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}`)
	}))
	w, err := c.Watch(context.Background(), Pods, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ev, err := w.Next()
	if err != nil || ev.Type != Added {
		t.Fatalf("first event %v %v", ev.Type, err)
	}
	ev, err = w.Next()
	if err != nil || ev.Type != Deleted {
		t.Fatalf("second event %v %v", ev.Type, err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(ev.Object, &pod); err != nil || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("deleted object %s: %v", ev.Object, err)
	}
	_, err = w.Next()
	if se, ok := AsStatusError(err); !ok || se.Code() != 410 {
		t.Errorf("ERROR event gave %v", err)
	}
	if _, err = w.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end of stream gave %v, want EOF", err)
	}
}

func TestLogStreaming(t *testing.T) {
	release := make(chan struct{})
	c := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "container=app&follow=true&sinceSeconds=60&tailLines=5&timestamps=true"
		if r.URL.RawQuery != want {
			http.Error(w, "query "+r.URL.RawQuery, 400)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "line 1")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprintln(w, "line 2")
	}))
	rc, err := c.Logs(context.Background(), "default", "p", LogOptions{
		Container: "app", Follow: true, Timestamps: true, TailLines: 5, SinceSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	// The first line arrives before the server writes the second: streamed.
	if l, err := br.ReadString('\n'); err != nil || l != "line 1\n" {
		t.Fatalf("first line %q %v", l, err)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "line 2\n" {
		t.Errorf("rest %q %v", rest, err)
	}
}

// TestWatchWithHeldBackHeaders: a server that holds back the headers of a
// watch with nothing to report must not block Watch; the stream and an
// error answer both arrive through Next.
func TestWatchWithHeldBackHeaders(t *testing.T) {
	release := make(chan struct{})
	c := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fieldSelector") == "metadata.name=missing" {
			<-release
			writeStatus(w, metav1.Status{Code: 404, Reason: metav1.StatusReasonNotFound, Message: "gone"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK) // not flushed
		<-release
		fmt.Fprintln(w, `{"type":"ADDED","object":{"metadata":{"name":"p"}}}`)
	}))
	start := time.Now()
	w, err := c.Watch(context.Background(), Pods, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w2, err := c.Watch(context.Background(), Pods, "default", "missing")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*watchOpenWait {
		t.Errorf("Watch blocked %v on held-back headers", d)
	}
	close(release)
	if ev, err := w.Next(); err != nil || ev.Type != Added {
		t.Errorf("first event %v %v", ev.Type, err)
	}
	if _, err := w2.Next(); !IsNotFound(err) {
		t.Errorf("error answer after the wait: %v", err)
	}
	w2.Close()
}
