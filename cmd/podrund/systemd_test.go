package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// listenNotify is a NOTIFY_SOCKET as systemd provides it.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func readNotify(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotifyReadyAndWatchdog(t *testing.T) {
	conn := listenNotify(t)
	notifyReady(zap.NewNop())
	if got := readNotify(t, conn); got != "READY=1" {
		t.Fatalf("got %q, want READY=1", got)
	}
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { watchdog(ctx, func() bool { return true }, zap.NewNop()); close(done) }()
	for i := 0; i < 2; i++ {
		if got := readNotify(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}
	cancel()
	<-done
	// An unhealthy daemon stops pinging, so systemd restarts it.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go watchdog(ctx, func() bool { return false }, zap.NewNop())
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 64)); err == nil {
		t.Fatalf("unhealthy daemon pinged the watchdog (%d bytes)", n)
	}
}

func TestNoWatchdogWithoutSystemd(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	done := make(chan struct{})
	go func() { watchdog(context.Background(), func() bool { return true }, zap.NewNop()); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("watchdog loop runs without WATCHDOG_USEC")
	}
}

// TestSocketActivation runs this test binary under systemd's own
// systemd-socket-activate: the helper gets the API socket as fd 3 and
// answers on it.
func TestSocketActivation(t *testing.T) {
	if os.Getenv("PODRUND_ACTIVATION_HELPER") == "1" {
		return // helper mode runs TestActivationHelper only
	}
	bin, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate is required (apt-get install systemd): %v", err)
	}
	sock := filepath.Join(t.TempDir(), "podrund.sock")
	cmd := exec.Command(bin, "-l", sock, "-E", "PODRUND_ACTIVATION_HELPER=1",
		os.Args[0], "-test.run=^TestActivationHelper$", "-test.v")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	var conn net.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket never appeared: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "activated "+sock+"\n" {
		t.Fatalf("answer %q (%v); helper output:\n%s", line, err, out)
	}
}

// TestActivationHelper is the activated process of TestSocketActivation.
func TestActivationHelper(t *testing.T) {
	if os.Getenv("PODRUND_ACTIVATION_HELPER") != "1" {
		return // only meaningful when run by TestSocketActivation
	}
	ln, err := listen("/nonexistent/must-not-be-used.sock", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "activated %s\n", ln.Addr().String())
}

func TestBadConfigFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podrund.yaml")
	_ = os.WriteFile(path, []byte("polcy: {}\n"), 0o600)
	err := execute([]string{"--config", path}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "polcy") {
		t.Fatalf("unknown config key: %v", err)
	}
	if err := execute([]string{"--log-level", "loud"}, io.Discard); err == nil || !strings.Contains(err.Error(), "logLevel") {
		t.Fatalf("bad log level: %v", err)
	}
}

// While podrund waits for containerd it says why, extends the start
// timeout beyond the next retry and pings the watchdog; READY=1 is not
// sent.
func TestNotifyWaitingForContainerd(t *testing.T) {
	conn := listenNotify(t)
	notifyWaitingForContainerd("/run/containerd/containerd.sock", zap.NewNop())(4*time.Second,
		fmt.Errorf("dial unix: connection refused"))
	got := readNotify(t, conn)
	want := "STATUS=waiting for containerd at /run/containerd/containerd.sock: dial unix: connection refused\n" +
		"EXTEND_TIMEOUT_USEC=14000000\nWATCHDOG=1"
	if got != want {
		t.Fatalf("notification %q, want %q", got, want)
	}
}

// While the device directories get their first pass podrund says so and
// extends the start timeout past its next call.
func TestNotifySettingUp(t *testing.T) {
	conn := listenNotify(t)
	notifySettingUp(zap.NewNop())("importing images from /var/lib/podrun/images")
	got := readNotify(t, conn)
	want := "STATUS=importing images from /var/lib/podrun/images\nEXTEND_TIMEOUT_USEC=30000000\nWATCHDOG=1"
	if got != want {
		t.Fatalf("notification %q, want %q", got, want)
	}
}
