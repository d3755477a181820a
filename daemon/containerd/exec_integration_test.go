package containerd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/supervisor"
)

func TestExec(t *testing.T) {
	e := newTestEnv(t)
	c := busybox("app", "sleep", "1000")
	c.Env = append(c.Env, corev1EnvVar("FROM_SPEC", "yes"))
	inst := e.createAndStart(e.pod(c))
	defer func() {
		if err := e.rt.StopContainer(e.ctx, inst.ID, 0, 0); err != nil {
			t.Error(err)
		}
		e.waitExit(inst.ID)
		if _, err := e.rt.Reap(e.ctx, inst.ID); err != nil {
			t.Error(err)
		}
	}()

	var out, errb bytes.Buffer
	code, err := e.rt.Exec(e.ctx, inst.ID, supervisor.ExecRequest{
		Command: []string{"sh", "-c", "echo out $FROM_SPEC; echo err >&2; exit 5"}, Stdout: &out, Stderr: &errb})
	if err != nil || code != 5 || out.String() != "out yes\n" || errb.String() != "err\n" {
		t.Fatalf("exec: code %d err %v stdout %q stderr %q", code, err, out.String(), errb.String())
	}

	out.Reset()
	code, err = e.rt.Exec(e.ctx, inst.ID, supervisor.ExecRequest{Command: []string{"cat"},
		Stdin: strings.NewReader("piped input"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "piped input" {
		t.Fatalf("exec cat: code %d err %v stdout %q", code, err, out.String())
	}

	out.Reset()
	code, err = e.rt.Exec(e.ctx, inst.ID, supervisor.ExecRequest{Command: []string{"tty"}, TTY: true, Stdout: &out})
	if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/pts/") {
		t.Fatalf("exec with tty: code %d err %v stdout %q", code, err, out.String())
	}

	out.Reset()
	sizes := make(chan supervisor.TerminalSize, 1)
	sizes <- supervisor.TerminalSize{Width: 100, Height: 40}
	code, err = e.rt.Exec(e.ctx, inst.ID, supervisor.ExecRequest{Command: []string{"sh", "-c", "sleep 0.5; stty size"},
		TTY: true, Stdout: &out, Resize: sizes})
	if err != nil || code != 0 || strings.TrimSpace(out.String()) != "40 100" {
		t.Fatalf("exec with resize: code %d err %v stdout %q, want 40 100", code, err, out.String())
	}

	// A probe timeout: the context ends, the exec is killed.
	ctx, cancel := context.WithTimeout(e.ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err = e.rt.Exec(ctx, inst.ID, supervisor.ExecRequest{Command: []string{"sleep", "30"}})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("timed-out exec: %v after %s", err, time.Since(start))
	}
	if code, err := e.rt.Exec(e.ctx, inst.ID, supervisor.ExecRequest{Command: []string{"/no/such"}}); err == nil && code == 0 {
		t.Fatal("exec of a missing binary succeeded")
	}

	// Exec exits are not container exits.
	select {
	case ev := <-e.events:
		t.Fatalf("event %+v after exec; exec exits must be filtered", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

func corev1EnvVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }
