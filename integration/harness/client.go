package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Client is one test's handle: a daemon, a pod namespace of its own, and a
// host directory (HostDir) that pods mount as hostPath to leave order files
// that outlive them.
type Client struct {
	T       testing.TB
	Env     *Env
	Daemon  *Podrund
	NS      string
	HostDir string
	http    *http.Client
}

var nsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// NamespaceFor turns a test name into a DNS-1123 label. Each run of a
// test gets its own: under -count=N the second run of TestX is
// t-testx-2, so that it neither finds the first run's Jobs (which the
// client's cleanup leaves) nor appends to its order files in HostDir.
// Calls from one run return the same namespace.
func NamespaceFor(t testing.TB) string {
	ns := strings.Trim(nsUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(ns) > 50 {
		ns = strings.Trim(ns[len(ns)-50:], "-")
	}
	ns = "t-" + ns
	if n := runOf(ns, t); n > 1 {
		ns += fmt.Sprintf("-%d", n)
	}
	return ns
}

// runs numbers the runs of each test name; a run is one testing.TB.
var runs = struct {
	sync.Mutex
	last map[string]testing.TB
	n    map[string]int
}{last: map[string]testing.TB{}, n: map[string]int{}}

// runOf is 1 for the first run of the test named ns, 2 for the second...
func runOf(ns string, t testing.TB) int {
	runs.Lock()
	defer runs.Unlock()
	if runs.last[ns] != t {
		runs.last[ns] = t
		runs.n[ns]++
	}
	return runs.n[ns]
}

// Client returns a handle on the shared daemon with a namespace named after
// the test. At cleanup it deletes every pod left in that namespace and fails
// the test if any container of the namespace remains in containerd.
func (e *Env) Client(t testing.TB) *Client {
	return e.ClientOn(t, e.Daemon)
}

// ClientOn is Client for another daemon (see PrivateDaemon).
func (e *Env) ClientOn(t testing.TB, d *Podrund) *Client {
	t.Helper()
	c := &Client{T: t, Env: e, Daemon: d, NS: NamespaceFor(t), http: UnixClient(d.Socket)}
	c.HostDir = filepath.Join(e.Base, "host", c.NS)
	if err := os.MkdirAll(c.HostDir, 0o777); err != nil {
		t.Fatalf("create host dir: %v", err)
	}
	t.Cleanup(c.cleanup)
	return c
}

// PrivateDaemon starts a podrund of the test's own (for tests that kill or
// restart it); at cleanup its pods are deleted, it is stopped, and the leak
// check runs on its containerd namespace and dirs.
func (e *Env) PrivateDaemon(t testing.TB) *Podrund {
	t.Helper()
	return e.PrivateDaemonOn(t, e.Containerd)
}

// PrivateContainerd starts a containerd of the test's own (for tests that
// stop and start it); it is closed at cleanup, after the daemons on it.
func (e *Env) PrivateContainerd(t testing.TB) *Containerd {
	t.Helper()
	dir, err := os.MkdirTemp(e.Base, "c")
	if err != nil {
		t.Fatal(err)
	}
	ctrd, err := StartContainerd(t.Context(), dir)
	if err != nil {
		t.Fatalf("start private containerd: %v", err)
	}
	t.Cleanup(func() {
		if err := ctrd.Close(); err != nil {
			t.Errorf("close private containerd: %v", err)
		}
	})
	return ctrd
}

// PrivateDaemonOn is PrivateDaemon on the given containerd.
func (e *Env) PrivateDaemonOn(t testing.TB, ctrd *Containerd) *Podrund {
	t.Helper()
	return e.PrivateDaemonWith(t, ctrd, "")
}

// PrivateDaemonWith is PrivateDaemonOn with extra lines appended to the
// daemon's config file (StartDaemonWith).
func (e *Env) PrivateDaemonWith(t testing.TB, ctrd *Containerd, extraConfig string) *Podrund {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := e.StartDaemonWith(ctx, strings.ToLower(nsUnsafe.ReplaceAllString(t.Name(), "")), ctrd, extraConfig)
	if err != nil {
		if d != nil {
			_ = d.Stop(9)
		}
		t.Fatalf("start private podrund: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if !d.Running() {
			if err := d.Start(ctx); err != nil {
				t.Errorf("restart podrund for cleanup: %v", err)
			}
		}
		// Client cleanups (registered later) have run by now and deleted the pods.
		if err := d.Stop(15); err != nil {
			t.Errorf("stop private podrund: %v", err)
		}
		if leaks := e.LeakCheckOn(ctx, d, ctrd); len(leaks) > 0 {
			t.Errorf("LEAK CHECK (private podrund %s):\n  %s", d.Namespace, strings.Join(leaks, "\n  "))
		}
		_ = KillProcessesMentioning(d.Dir)
		_ = RemovePodCgroups(d)
		_ = UnmountUnder(d.Dir)
	})
	return d
}

// Podctl runs podctl with this client's socket and namespace. Global flags
// go before a "--" so that exec's command stays untouched.
func (c *Client) Podctl(args ...string) (stdout, stderr string, exit int) {
	return c.PodctlStdin(nil, args...)
}

// PodctlStdin is Podctl with stdin.
func (c *Client) PodctlStdin(stdin io.Reader, args ...string) (stdout, stderr string, exit int) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Env.Bins.Podctl, c.withGlobals(args)...)
	cmd.Env = append(os.Environ(), "PODRUND_SOCKET="+c.Daemon.Socket)
	cmd.Stdin = stdin
	return RunCmd(cmd)
}

// RunCmd runs cmd to its end and returns its stdout, stderr and exit code;
// the code is -1 when it was killed by a signal or did not start, and
// then stderr ends with why.
func RunCmd(cmd *exec.Cmd) (stdout, stderr string, exit int) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		exit = -1
		if ee, ok := err.(*exec.ExitError); ok {
			exit = ee.ExitCode()
		} else {
			e.WriteString(err.Error())
		}
	}
	return o.String(), e.String(), exit
}

// StartPodctl starts podctl with this client's socket and namespace for a
// command that streams (logs -f, get -w, a long exec) and returns it
// running, with its stdout to read and its stderr gathered (read that
// after Wait). The caller ends it (Process.Kill, then Wait), or ctx does.
func (c *Client) StartPodctl(ctx context.Context, args ...string) (cmd *exec.Cmd, stdout io.ReadCloser, stderr *bytes.Buffer) {
	c.T.Helper()
	cmd = exec.CommandContext(ctx, c.Env.Bins.Podctl, c.withGlobals(args)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.T.Fatal(err)
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		c.T.Fatal(err)
	}
	return cmd, stdout, stderr
}

func (c *Client) withGlobals(args []string) []string {
	globals := []string{"--socket", c.Daemon.Socket}
	hasNS := false
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-n" || a == "--namespace" || a == "-A" || a == "--all-namespaces" || strings.HasPrefix(a, "--namespace=") {
			hasNS = true
		}
	}
	if !hasNS {
		globals = append(globals, "-n", c.NS)
	}
	for i, a := range args {
		if a == "--" {
			out := append(append(append([]string{}, args[:i]...), globals...), args[i:]...)
			return out
		}
	}
	return append(append([]string{}, args...), globals...)
}

// MustPodctl runs podctl and fails the test unless it exits 0.
func (c *Client) MustPodctl(args ...string) string {
	c.T.Helper()
	out, errOut, code := c.Podctl(args...)
	if code != 0 {
		c.T.Fatalf("podctl %s: exit %d\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// Apply applies a YAML manifest with podctl apply -f - and returns its output.
func (c *Client) Apply(manifest string) string {
	c.T.Helper()
	out, errOut, code := c.PodctlStdin(strings.NewReader(manifest), "apply", "-f", "-")
	if code != 0 {
		c.T.Fatalf("podctl apply: exit %d\nstdout: %s\nstderr: %s\nmanifest:\n%s", code, out, errOut, manifest)
	}
	return out
}

// ApplyFile applies a file with podctl apply -f FILE.
func (c *Client) ApplyFile(path string) string {
	c.T.Helper()
	return c.MustPodctl("apply", "-f", path)
}

// GetPod returns the pod as `podctl get pod NAME -o json` prints it.
func (c *Client) GetPod(name string) *corev1.Pod {
	c.T.Helper()
	var p corev1.Pod
	c.getJSON(&p, "pod", name)
	return &p
}

// getJSON decodes `podctl get ARGS -o json` into v.
func (c *Client) getJSON(v any, args ...string) {
	c.T.Helper()
	args = append(append([]string{"get"}, args...), "-o", "json")
	out := c.MustPodctl(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.T.Fatalf("decode podctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// GetPods returns the namespace's pods as `podctl get pods -o json`
// prints them.
func (c *Client) GetPods() []corev1.Pod {
	c.T.Helper()
	var l corev1.PodList
	c.getJSON(&l, "pods")
	return l.Items
}

// ListPods lists the namespace's pods through REST: no podctl process
// per call, for waits that poll often.
func (c *Client) ListPods() []corev1.Pod {
	c.T.Helper()
	code, body := c.REST(http.MethodGet, c.PodPath(""), "", nil)
	if code != http.StatusOK {
		c.T.Fatalf("list pods: HTTP %d %s", code, body)
	}
	var l corev1.PodList
	if err := json.Unmarshal(body, &l); err != nil {
		c.T.Fatalf("decode pod list: %v", err)
	}
	return l.Items
}

// Logs returns `podctl logs POD -c C [extra...]`.
func (c *Client) Logs(pod, container string, extra ...string) string {
	c.T.Helper()
	return c.MustPodctl(append([]string{"logs", pod, "-c", container}, extra...)...)
}

// Events returns the namespace's events (podctl get events -o json).
func (c *Client) Events() []corev1.Event {
	c.T.Helper()
	var l corev1.EventList
	c.getJSON(&l, "events")
	return l.Items
}

// REST sends one request to the daemon's socket and returns code and body.
func (c *Client) REST(method, path, contentType string, body io.Reader) (int, []byte) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://podrund"+path, body)
	if err != nil {
		c.T.Fatalf("build request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// PodPath is the REST path of a pod in this client's namespace.
func (c *Client) PodPath(name string) string {
	p := "/api/v1/namespaces/" + c.NS + "/pods"
	if name != "" {
		p += "/" + name
	}
	return p
}

// ReadHostFile reads a file of HostDir.
func (c *Client) ReadHostFile(name string) string {
	b, err := os.ReadFile(filepath.Join(c.HostDir, name))
	if err != nil && !os.IsNotExist(err) {
		c.T.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func (c *Client) cleanup() {
	t := c.T
	if t.Failed() {
		t.Logf("podrund log lines of namespace %s:\n%s", c.NS, c.Daemon.LogGrep(c.NS, 80))
		if out, _, code := c.Podctl("get", "events"); code == 0 {
			t.Logf("events:\n%s", out)
		}
	}
	if !c.Daemon.Running() {
		return // the private daemon's cleanup restarts it and checks leaks
	}
	out, _, code := c.Podctl("get", "pods", "-o", "name")
	if code != 0 {
		t.Errorf("cleanup: podctl get pods failed")
		return
	}
	for _, name := range strings.Fields(out) {
		name = strings.TrimPrefix(name, "pod/")
		// A pod can vanish meanwhile (a Job's pods go with the Job).
		if _, errOut, code := c.Podctl("delete", "pod", name, "--grace-period", "1", "--wait=true", "--force"); code != 0 &&
			!strings.Contains(strings.ToLower(errOut), "not found") {
			t.Errorf("cleanup: delete pod %s: %s", name, errOut)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	filter := fmt.Sprintf(`labels."io.podrun.pod.namespace"==%s`, c.NS)
	left, err := c.Daemon.Ctrd.Ctr(ctx, c.Daemon.Namespace, "containers", "ls", "-q", filter)
	if err != nil {
		t.Errorf("cleanup: %v", err)
	} else if strings.TrimSpace(left) != "" {
		t.Errorf("LEAK CHECK: containers of namespace %s remain in containerd after deleting every pod:\n%s", c.NS, left)
	}
}
