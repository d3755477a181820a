package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/api/client/fake"
)

const twoPods = `apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: app, image: busybox:1.28}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {containers: [{name: app, image: busybox:1.28}]}
`

// TestApplyWaitRedrawsInATerminal runs apply --wait with stderr on a pty
// and reads the screen bytes: one line per pod, redrawn in place.
func TestApplyWaitRedrawsInATerminal(t *testing.T) {
	master, slave := openPTY(t)
	var screen safeBuffer
	go func() { _, _ = io.Copy(&screen, master) }()

	srv := fake.Start(t)
	file := writeFile(t, "pods.yaml", twoPods)
	var out safeBuffer
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- run(ctx, []string{"--socket", srv.Socket, "apply", "-f", file, "--wait"},
			streams{In: strings.NewReader(""), Out: &out, ErrOut: slave})
	}()
	eventually(t, "both watches", func() bool { return watchCount(srv, client.Pods) == 2 })
	srv.Set(client.Pods, pod("a", corev1.PodPending))
	eventually(t, "a's line", func() bool { return strings.Contains(screen.String(), "pod/a: Pending") })
	srv.Set(client.Pods, pod("b", corev1.PodPending))
	eventually(t, "b's line", func() bool { return strings.Contains(screen.String(), "pod/b: Pending") })
	srv.Set(client.Pods, pod("a", corev1.PodRunning, readyCond(true)))
	srv.Set(client.Pods, pod("b", corev1.PodSucceeded))
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := out.String(); got != "pod/a created\npod/b created\npod/a ready\npod/b succeeded\n" {
		t.Errorf("stdout %q", got)
	}
	t.Cleanup(func() {
		if t.Failed() {
		}
	})
	// Lines are drawn in the order the pods first showed up, then redrawn
	// in place: the cursor goes up one line, then two.
	eventually(t, "the final redraw", func() bool {
		s := screen.String()
		return strings.Contains(s, "\r\x1b[Kpod/a: Running\r\n") && strings.Contains(s, "\r\x1b[Kpod/b: Succeeded\r\n")
	})
	s := screen.String()
	if !strings.Contains(s, "\x1b[1A\r\x1b[K") || !strings.Contains(s, "\x1b[2A\r\x1b[K") || strings.Contains(s, "\x1b[3A") {
		t.Errorf("no in-place redraw of two lines: %q", s)
	}
}

func TestProgressPlainWhenPiped(t *testing.T) {
	var buf safeBuffer
	p := newProgress(&buf)
	p.update("pod/a", "Pending")
	p.update("pod/a", "Pending")
	p.update("pod/a", "Running")
	if got := buf.String(); got != "pod/a: Pending\npod/a: Running\n" {
		t.Errorf("piped progress %q", got)
	}
}
