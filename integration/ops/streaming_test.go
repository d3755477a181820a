package ops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/podrun/podrun/daemon/pki"
	"github.com/podrun/podrun/integration/harness"
)

// streamsPod serves a page on the pod's loopback only (reachable through
// the pod's netns alone) and ticks on stdout for attach.
var streamsPod = harness.Pod{Name: "streams", Grace: 1, NoSharedDir: true, Containers: []harness.Container{
	{Name: "web", Command: []string{"sh", "-c",
		"mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www"}},
	{Name: "ticker", Command: []string{"sh", "-c",
		"i=0; trap 'exit 0' TERM; while true; do echo tick $i; i=$((i+1)); sleep 0.2 & wait $!; done"}},
}}

// TestStreaming runs exec, attach and port-forward against a real podrund
// with an HTTPS listener: through podctl over the socket, and through
// client-go with a podctl kubeconfig certificate over HTTPS, as kubectl
// does (WebSocket first).
func TestStreaming(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	d := env.PrivateDaemonWith(t, env.Containerd, "listenHTTPS: "+addr+"\nlimits:\n  maxExecSessions: 3\n")
	c := env.ClientOn(t, d)
	c.Apply(streamsPod.YAML(c.HostDir))
	c.WaitFor("streams", "Ready", 60*time.Second, harness.PodReady)

	t.Run("podctl exec", func(t *testing.T) {
		out, errOut, code := c.Podctl("exec", "streams", "-c", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
		if out != "out\n" || errOut != "err\n" || code != 3 {
			t.Errorf("exec: stdout %q stderr %q exit %d; want out, err, 3", out, errOut, code)
		}
		// The end of stdin reaches cat (it exits), over SPDY's half-close.
		out, _, code = c.PodctlStdin(strings.NewReader("hello stdin\n"), "exec", "-i", "streams", "-c", "web", "--", "cat")
		if out != "hello stdin\n" || code != 0 {
			t.Errorf("exec -i cat: %q exit %d", out, code)
		}
		if _, errOut, code := c.Podctl("exec", "streams", "-c", "nope", "--", "true"); code != 1 || !strings.Contains(errOut, "nope") {
			t.Errorf("exec into a missing container: exit %d %q", code, errOut)
		}
	})

	t.Run("podctl exec -it", func(t *testing.T) {
		// In a real terminal of 100x30: the command sees a tty of that size.
		shown := screen(t, c, 100, 30, "exec", "-it", "streams", "-c", "web", "--", "sh", "-c", "tty >/dev/null && sleep 0.5 && stty size")
		if !strings.Contains(shown, "30 100") {
			t.Errorf("stty size in the pod's terminal: %q", shown)
		}
	})

	t.Run("podctl port-forward", func(t *testing.T) {
		local, stop := podctlPortForward(t, c, "streams", ":8080")
		defer stop()
		for i := 0; i < 2; i++ { // two connections through one forward
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", local))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) != "hello-from-pod" {
				t.Errorf("GET through the forward: %d %q", resp.StatusCode, body)
			}
		}
	})

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if out, errOut, code := c.Podctl("kubeconfig", "-o", kubeconfig); code != 0 {
		t.Fatalf("podctl kubeconfig: %d %q %q", code, out, errOut)
	}
	if fi, err := os.Stat(kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig file: %v %v, want mode 0600", fi.Mode(), err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://"+addr {
		t.Errorf("kubeconfig server %q, want https://%s", cfg.Host, addr)
	}
	podURL := cfg.Host + "/api/v1/namespaces/" + c.NS + "/pods/streams/"

	t.Run("client-go exec over HTTPS", func(t *testing.T) {
		e, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet,
			podURL+"exec?container=web&command=sh&command=-c&command=cat%3Bexit%207&stdin=true&stdout=true&stderr=true")
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = e.StreamWithContext(t.Context(), remotecommand.StreamOptions{Stdin: strings.NewReader("via websocket\n"),
			Stdout: &out, Stderr: io.Discard})
		var exit utilexec.CodeExitError
		if !errors.As(err, &exit) || exit.Code != 7 || out.String() != "via websocket\n" {
			t.Errorf("websocket exec: %v, stdout %q; want exit 7 and the stdin echoed", err, out.String())
		}
	})

	t.Run("client-go attach over HTTPS", func(t *testing.T) {
		e, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, podURL+"attach?container=ticker&stdout=true")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		seen := &tickWriter{enough: cancel}
		_ = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: seen})
		if seen.ticks < 2 {
			t.Errorf("attach saw %d tick lines: %q", seen.ticks, seen.buf.String())
		}
	})

	t.Run("TLS client certificates", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(cfg.CAData)
		get := func(certs ...tls.Certificate) error {
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
			resp, err := hc.Get(cfg.Host + "/version")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
		if err := get(); err == nil {
			t.Error("a client without a certificate was served")
		}
		other, err := pki.Load(filepath.Join(t.TempDir(), "other-ca"), nil)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, _ := other.ClientCertificate(pki.AdminUser, []string{pki.AdminGroup})
		foreign, _ := tls.X509KeyPair(certPEM, keyPEM)
		if err := get(foreign); err == nil {
			t.Error("a certificate of another CA was served")
		}
		good, _ := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
		if err := get(good); err != nil {
			t.Errorf("the kubeconfig's certificate: %v", err)
		}
	})

	t.Run("session flood", func(t *testing.T) {
		// maxExecSessions is 3: three open port-forward connections hold
		// every slot, the next session of any kind is 429, and a slot
		// comes back when one closes.
		var conns []io.Closer
		defer func() {
			for _, cn := range conns {
				cn.Close()
			}
		}()
		for i := 0; i < 3; i++ {
			dialer, err := portforward.NewSPDYOverWebsocketDialerForStreaming(mustURL(t, podURL+"portforward"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conn, _, err := dialer.Dial("portforward.k8s.io")
			if err != nil {
				t.Fatalf("port-forward session %d: %v", i, err)
			}
			conns = append(conns, conn)
		}
		code := httpsStatus(t, cfg, podURL+"exec?container=web&command=true&stdout=true")
		if code != http.StatusTooManyRequests {
			t.Fatalf("a fourth session: %d, want 429", code)
		}
		conns[0].Close()
		conns = conns[1:]
		harness.Eventually(t, 10*time.Second, func() string {
			// No upgrade headers: past the cap the handshake fails (400).
			if code := httpsStatus(t, cfg, podURL+"exec?container=web&command=true&stdout=true"); code == http.StatusTooManyRequests {
				return "the closed session kept its slot"
			}
			return ""
		})
	})
}

// tickWriter counts "tick" lines and ends the attach after a few.
type tickWriter struct {
	buf    bytes.Buffer
	ticks  int
	enough func()
}

func (w *tickWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	w.ticks = strings.Count(w.buf.String(), "tick ")
	if w.ticks >= 3 {
		w.enough()
	}
	return len(p), nil
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// httpsStatus is the status of a plain GET with the kubeconfig's identity.
func httpsStatus(t *testing.T, cfg *rest.Config, u string) int {
	t.Helper()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt, Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var forwarding = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)

// podctlPortForward starts podctl port-forward and returns the local port
// it listens on; stop interrupts it (as Ctrl-C) and waits for it to exit.
func podctlPortForward(t *testing.T, c *harness.Client, pod string, ports ...string) (int, func()) {
	t.Helper()
	args := append([]string{"--socket", c.Daemon.Socket, "-n", c.NS, "port-forward", pod}, ports...)
	cmd := exec.Command(c.Env.Bins.Podctl, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("podctl port-forward did not stop on SIGINT")
			<-done
		}
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := forwarding.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			var port int
			fmt.Sscan(m[1], &port)
			return port, stop
		}
	}
	stop()
	t.Fatalf("podctl port-forward printed no Forwarding line; stderr %q", errOut.String())
	return 0, nil
}
