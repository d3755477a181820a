package bounds

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// session is one long-lived podctl (get -w, logs -f, exec) whose first
// output line shows its session is open.
type session struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	lines  *bufio.Reader
}

func startSession(t *testing.T, c *harness.Client, args ...string) *session {
	t.Helper()
	cmd, out, stderr := c.StartPodctl(context.Background(), args...)
	s := &session{cmd: cmd, stderr: stderr, lines: bufio.NewReader(out)}
	t.Cleanup(s.stop)
	return s
}

// open waits for the session's first line of output.
func (s *session) open(t *testing.T, what string) {
	t.Helper()
	got := make(chan error, 1)
	go func() { _, err := s.lines.ReadString('\n'); got <- err }()
	select {
	case err := <-got:
		if err != nil {
			_ = s.cmd.Wait()
			t.Fatalf("%s under the cap did not open: %v; stderr: %s", what, err, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s under the cap printed nothing in 60 s", what)
	}
	go func() { _, _ = io.Copy(io.Discard, s.lines) }()
}

// stop kills the podctl: the client goes away without a goodbye.
func (s *session) stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// refused runs one more podctl of the kind and expects podrund's 429.
func refused(t *testing.T, c *harness.Client, what string, args ...string) {
	t.Helper()
	out, errOut, code := c.Podctl(args...)
	if code == 0 || !strings.Contains(errOut, "too many concurrent "+what) {
		t.Fatalf("podctl %s over the cap: exit %d, stdout %q, stderr %q; want the 429 about %s",
			strings.Join(args, " "), code, out, errOut, what)
	}
}

// admittedAgain retries a session until the freed slot is seen (the
// daemon notices a killed client within moments).
func admittedAgain(t *testing.T, c *harness.Client, what string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := startSession(t, c, args...)
		got := make(chan error, 1)
		go func() { _, err := s.lines.ReadString('\n'); got <- err }()
		var err error
		select {
		case err = <-got:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s after a slot was freed printed nothing in 60 s", what)
		}
		if err == nil {
			s.stop()
			return
		}
		_ = s.cmd.Wait()
		if time.Now().After(deadline) {
			t.Fatalf("%s still refused 30 s after a session ended: %s", what, s.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSessionCaps: against a podrund with small caps, through podctl, the
// watch, log follow and exec one past the cap are refused with the 429's
// message, ordinary requests still work, and killing one session's
// podctl frees its slot for the next.
func TestSessionCaps(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemonWith(t, env.Containerd,
		"limits:\n  maxWatches: 2\n  maxLogFollows: 1\n  maxExecSessions: 1\n")
	c := env.ClientOn(t, d)
	ps := harness.Pod{Name: "sleeper", Grace: 1, Containers: []harness.Container{{Name: "app",
		Command: []string{"sh", "-c", "echo started; exec sleep 3600"}}}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("sleeper", "Running", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	// Each cap in turn: sessions up to it open, one more is refused while
	// a plain request of the kind still works, and killing the first
	// session's podctl admits the next.
	for _, k := range []struct {
		what, plural         string // as the failures and the 429 name it
		cap                  int
		session, over, again []string
		plain                []string // a request that works at the cap (none for exec: each is a session)
		plainHas             string   // what it prints
	}{
		{"watch", "watches", 2, []string{"get", "pods", "-w"}, []string{"get", "pods", "-w"},
			[]string{"get", "pods", "-w"}, []string{"get", "pods"}, "sleeper"},
		{"log follow", "log follows", 1, []string{"logs", "-f", "sleeper"}, []string{"logs", "-f", "sleeper"},
			[]string{"logs", "-f", "sleeper"}, []string{"logs", "sleeper", "-c", "app"}, "started"},
		{"exec", "exec sessions", 1, []string{"exec", "sleeper", "--", "sh", "-c", "echo in; exec sleep 3600"},
			[]string{"exec", "sleeper", "--", "true"}, []string{"exec", "sleeper", "--", "echo", "again"}, nil, ""},
	} {
		var first *session
		for i := 1; i <= k.cap; i++ {
			s := startSession(t, c, k.session...)
			s.open(t, fmt.Sprintf("%s %d", k.what, i))
			if first == nil {
				first = s
			}
		}
		refused(t, c, k.plural, k.over...)
		if k.plain != nil {
			if out, errOut, code := c.Podctl(k.plain...); code != 0 || !strings.Contains(out, k.plainHas) {
				t.Fatalf("podctl %s at the %s cap: exit %d, stdout %q, stderr %q", strings.Join(k.plain, " "), k.what, code, out, errOut)
			}
		}
		first.stop()
		admittedAgain(t, c, k.what, k.again...)
	}
	c.DeleteAndWait("sleeper")
}
