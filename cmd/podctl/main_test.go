package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
	"k8s.io/apimachinery/pkg/util/wait"
)

// result is one podctl run.
type result struct {
	stdout, stderr string
	code           int
}

// safeBuffer is a bytes.Buffer that a test may read while podctl writes.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func podctlIn(t *testing.T, srv *fake.Server, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut safeBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"--socket", srv.Socket}, args...), streams{In: stdin, Out: &out, ErrOut: &errOut})
	return result{out.String(), errOut.String(), code}
}

func podctl(t *testing.T, srv *fake.Server, args ...string) result {
	t.Helper()
	return podctlIn(t, srv, strings.NewReader(""), args...)
}

// podctlAsync runs podctl in the background; the returned func waits for it.
func podctlAsync(t *testing.T, srv *fake.Server, args ...string) func() result {
	ch := make(chan result, 1)
	go func() { ch <- podctl(t, srv, args...) }()
	return func() result {
		select {
		case r := <-ch:
			return r
		case <-time.After(25 * time.Second):
			t.Fatalf("podctl %v did not return", args)
			return result{}
		}
	}
}

// podctlWatching is podctlAsync that returns once podctl has opened its
// watch on res, so that the changes the test makes next reach podctl
// through that watch rather than in its first list.
func podctlWatching(t *testing.T, srv *fake.Server, res client.Resource, args ...string) func() result {
	t.Helper()
	done := podctlAsync(t, srv, args...)
	eventually(t, "podctl's watch of "+string(res), watching(srv, res))
	return done
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pod(name string, phase corev1.PodPhase, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox:1.28"}}},
		Status:     corev1.PodStatus{Phase: phase, Conditions: conds},
	}
}

func readyCond(ok bool) corev1.PodCondition {
	st := corev1.ConditionFalse
	if ok {
		st = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: st}
}

// eventually polls cond in the test only (podctl itself never polls).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// watchCount is how many watches of res podctl has opened so far.
func watchCount(srv *fake.Server, res client.Resource) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, "/"+string(res)+"?") && strings.Contains(r, "watch=true") {
			n++
		}
	}
	return n
}

// watching reports whether podctl has opened a watch on res.
func watching(srv *fake.Server, res client.Resource) func() bool {
	return func() bool { return watchCount(srv, res) > 0 }
}

func TestUnreachableSocket(t *testing.T) {
	var out, errOut bytes.Buffer
	sock := filepath.Join(t.TempDir(), "missing.sock")
	code := run(context.Background(), []string{"--socket", sock, "get", "pods"}, streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	want := "error: cannot reach podrund at " + sock + ": is podrund running?"
	if code != 1 || !strings.HasPrefix(errOut.String(), want) {
		t.Errorf("code %d stderr %q, want 1 and %q", code, errOut.String(), want)
	}
}

func TestSocketFromEnvironment(t *testing.T) {
	srv := fake.Start(t)
	t.Setenv(client.SocketEnv, srv.Socket)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"version"}, streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	if code != 0 || !strings.Contains(out.String(), "Server Version: v0.0.0-fake") {
		t.Errorf("code %d out %q err %q", code, out.String(), errOut.String())
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	srv := fake.Start(t)
	for _, args := range [][]string{{"frobnicate"}, {"get", "pods", "--bogus"}, {"get", "widgets"}, {"get", "pods", "-o", "xml"}} {
		r := podctl(t, srv, args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "error: ") {
			t.Errorf("%v: code %d stderr %q", args, r.code, r.stderr)
		}
	}
}

func writeFileIn(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func objMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default"}
}

func metaCM() metav1.TypeMeta { return metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"} }

// requestCount is how many requests so far were exactly req ("GET /path").
func requestCount(srv *fake.Server, req string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r == req {
			n++
		}
	}
	return n
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func typesUID(s string) types.UID { return types.UID(s) }

// squash collapses runs of spaces so tests do not depend on alignment.
func squash(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }
