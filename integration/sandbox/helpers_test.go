package sandbox

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// forever keeps a container alive and lets it stop at once on SIGTERM.
const forever = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"

// openDaemon starts a podrund of the test's own with the given config file
// contents on the shared containerd and imports the busybox images. At
// cleanup (after the clients' cleanups deleted their pods) it is stopped and
// the harness leak check runs on its namespace and dirs.
func openDaemon(t *testing.T, name, config string) *harness.Podrund {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp(env.Base, "sb")
	if err != nil {
		t.Fatal(err)
	}
	d := harness.NewPodrund(env.Bins.Podrund, dir, env.Containerd.Address, "podrun-sb-"+name)
	d.Ctrd = env.Containerd
	d.Config = filepath.Join(dir, "podrund.yaml")
	if err := os.WriteFile(d.Config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := d.Stop(15); err != nil {
			t.Errorf("stop podrund %s: %v", name, err)
		}
		if leaks := env.LeakCheckOn(ctx, d, env.Containerd); len(leaks) > 0 {
			t.Errorf("LEAK CHECK (podrund %s):\n  %s", name, strings.Join(leaks, "\n  "))
		}
		_ = harness.KillProcessesMentioning(d.Dir)
		_ = harness.UnmountUnder(d.Dir)
	})
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start podrund %s: %v", name, err)
	}
	for _, img := range env.Images {
		if b := filepath.Base(img); b != "busybox.tar" && b != "user.tar" {
			continue
		}
		out, err := exec.CommandContext(ctx, env.Bins.Podctl, "--socket", d.Socket, "image", "import", img).CombinedOutput()
		if err != nil {
			t.Fatalf("podctl image import %s: %v\n%s", img, err, out)
		}
	}
	return d
}

// sh runs a shell command in a container with podctl exec and returns its
// stdout; a non-zero exit fails the test.
func sh(t *testing.T, c *harness.Client, pod, ctr, script string) string {
	t.Helper()
	out, errOut, code := c.Podctl("exec", pod, "-c", ctr, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exec in %s/%s %q: exit %d\nstdout: %s\nstderr: %s", pod, ctr, script, code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// shFails runs a command that must fail inside the container and returns its stderr.
func shFails(t *testing.T, c *harness.Client, pod, ctr, script string) string {
	t.Helper()
	out, errOut, code := c.Podctl("exec", pod, "-c", ctr, "--", "sh", "-c", script)
	if code == 0 {
		t.Errorf("exec in %s/%s %q succeeded (stdout %q); want a failure", pod, ctr, script, out)
	}
	return errOut
}

// want compares what a container saw with what the test expects.
func want(t *testing.T, what, got, exp string) {
	t.Helper()
	if got != exp {
		t.Errorf("%s: got %q, want %q", what, got, exp)
	}
}

// output is a script to run in a container and what it must print.
type output struct{ what, script, want string }

// wantOutputs runs each script in container ctr of pod, in order, and
// wants its output.
func wantOutputs(t *testing.T, c *harness.Client, pod, ctr string, outs ...output) {
	t.Helper()
	for _, o := range outs {
		want(t, o.what, sh(t, c, pod, ctr, o.script), o.want)
	}
}

// wantContains checks that what a container saw contains every part.
func wantContains(t *testing.T, what, got string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("%s: %q lacks %q", what, got, p)
		}
	}
}

// applyReady applies a manifest and waits until pod name is Ready.
func applyReady(t *testing.T, c *harness.Client, manifest, name string) *corev1.Pod {
	t.Helper()
	c.Apply(manifest)
	return c.WaitFor(name, "Ready", 90*time.Second, harness.PodReady)
}

// busybox is a busybox container that runs script with sh -c; each field
// is one more line of it in YAML, such as "volumeMounts: [{name: v,
// mountPath: /v}]".
func busybox(name, script string, fields ...string) harness.Container {
	return harness.Container{Name: name, Command: harness.Sh(script), Extra: yamlLines("    ", fields)}
}

// podOf is the pod name of containers with a grace period of grace
// seconds; each specField is one more line of its spec in YAML.
func podOf(name string, grace int, specFields []string, containers ...harness.Container) string {
	return harness.Pod{Name: name, Grace: grace, NoSharedDir: true, Extra: yamlLines("  ", specFields),
		Containers: containers}.YAML("")
}

func yamlLines(indent string, lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(indent + l + "\n")
	}
	return b.String()
}

// applyPodReady applies the pod name with spec (see harness.PodManifest)
// and waits until it is Ready.
func applyPodReady(t *testing.T, c *harness.Client, name, spec string) *corev1.Pod {
	t.Helper()
	return applyReady(t, c, harness.PodManifest(name, spec), name)
}

// status returns the status of container name (init or regular).
var status = harness.ContainerStatus

// logsUntil follows `podctl logs -f` until a line contains wantLine; it
// starts again when podctl ends early (the container has not started yet,
// or its instance ended).
func logsUntil(t *testing.T, c *harness.Client, pod, container, wantLine string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got strings.Builder
	for ctx.Err() == nil {
		if followLogs(ctx, t, c, pod, container, wantLine, &got) {
			return got.String()
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
	t.Fatalf("podctl logs %s -c %s -f: no line with %q within %v; output:\n%s", pod, container, wantLine, timeout, got.String())
	return ""
}

func followLogs(ctx context.Context, t *testing.T, c *harness.Client, pod, container, wantLine string, got *strings.Builder) bool {
	cmd, out, _ := c.StartPodctl(ctx, "logs", pod, "-c", container, "-f")
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), wantLine) {
			return true
		}
	}
	return false
}

// deletePod deletes the pod with podctl delete --wait and checks that the
// host holds nothing of it any more (see podLeftovers).
func deletePod(t *testing.T, c *harness.Client, name string) {
	t.Helper()
	p := c.GetPod(name)
	c.MustPodctl("delete", "pod", name, "--grace-period", "2", "--wait=true")
	if left := podLeftovers(c.Daemon, p.UID); len(left) > 0 {
		t.Errorf("pod %s left behind after deletion:\n  %s", name, strings.Join(left, "\n  "))
	}
}
