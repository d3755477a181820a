package robust

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// notifyListener is the NOTIFY_SOCKET systemd gives a Type=notify service;
// it collects every datagram.
type notifyListener struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	dir, err := os.MkdirTemp(env.Base, "sd")
	if err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{path: filepath.Join(dir, "notify.sock"), msgs: make(chan string, 64)}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(string(buf[:k])), "\n") {
				n.msgs <- line
			}
		}
	}()
	return n
}

// await returns the notifications up to and including want.
func (n *notifyListener) await(t *testing.T, want string, timeout time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed before %s (got %v)", want, got)
			}
			got = append(got, m)
			if m == want {
				return got
			}
		case <-deadline:
			t.Fatalf("no %s within %v (got %v)", want, timeout, got)
		}
	}
}

// TestSystemdActivation runs the real podrund as systemd would run
// podrund.socket + podrund.service: under systemd-socket-activate (the API
// socket passed as fd 3, LISTEN_FDS), with a NOTIFY_SOCKET and a watchdog
// (WATCHDOG_USEC). The first request activates it; it answers on the
// passed socket, re-adopts the pod it ran before (R94), then sends
// READY=1 and keeps sending WATCHDOG=1.
func TestSystemdActivation(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate is required (scripts/install-deps.sh installs systemd): %v", err)
	}
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	applyAll(t, c, newPod(c, "kept", corev1.RestartPolicyAlways, nil, shell("app", forever)))
	before := c.WaitFor("kept", "Ready", time.Minute, isReady)
	if err := d.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(d.Socket)

	notify := listenNotify(t)
	logf, err := os.OpenFile(d.LogPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-l", d.Socket, "-E", "NOTIFY_SOCKET="+notify.path, "-E", "WATCHDOG_USEC=1000000",
		d.Bin, "--socket", "/nonexistent/activation-must-win.sock", "--root", d.Root, "--state", d.State,
		"--containerd-address", d.ContainerdAddress, "--namespace", d.Namespace, "--config", d.Config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("activated podrund ignored SIGTERM")
		}
	})
	// The first connection activates podrund; the request waits in the
	// socket's backlog until it serves.
	harness.Eventually(t, time.Minute, harness.Check(func() string { return "activated podrund never answered /readyz 200:\n" + d.LogTail(20) }, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://podrund/readyz", nil)
		resp, err := harness.UnixClient(d.Socket).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}))
	if got := notify.await(t, "READY=1", time.Minute); len(got) != 1 {
		t.Errorf("notifications before READY=1: %v", got)
	}
	notify.await(t, "WATCHDOG=1", 10*time.Second)
	notify.await(t, "WATCHDOG=1", 10*time.Second)
	if !strings.Contains(d.LogTail(400), "serving on the socket passed by systemd") {
		t.Errorf("podrund did not say it serves the activation socket")
	}
	after := c.GetPod("kept")
	if diff := statusDiff(before, after); diff != "" {
		t.Errorf("pod changed across the activated restart: %s", diff)
	}
	c.MustPodctl("delete", "pod", "kept", "--grace-period", "1", "--wait=true")
}
