// Package harness runs podrun's end-to-end tests against the real thing: a
// private containerd (own root, state and socket, no CRI plugin), real
// podrund processes built from this tree, and podctl. It also checks that a
// test leaves no container, task, snapshot, mount, process or netns behind.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ContainerdBinary is the containerd the harness starts.
const ContainerdBinary = "/usr/bin/containerd"

// Containerd is a private containerd process.
type Containerd struct {
	Dir     string // everything of this containerd lives below Dir
	Address string // its gRPC socket
	config  string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// configTemplate is version 2 config: containerd 1.6 and 1.7 read it as is,
// 2.x migrates it. CRI is off: podrun talks to containerd directly.
const configTemplate = `version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`

// StartContainerd writes a config below dir and starts containerd with it.
func StartContainerd(ctx context.Context, dir string) (*Containerd, error) {
	c := &Containerd{Dir: dir, Address: filepath.Join(dir, "containerd.sock")}
	if len(c.Address) > 100 {
		return nil, fmt.Errorf("containerd socket path %s is too long for a unix socket", c.Address)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create containerd dir: %w", err)
	}
	c.config = filepath.Join(dir, "config.toml")
	c.logPath = filepath.Join(dir, "containerd.log")
	cfg := fmt.Sprintf(configTemplate, filepath.Join(dir, "root"), filepath.Join(dir, "state"),
		c.Address, c.Address+".ttrpc", filepath.Join(dir, "opt"))
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("write containerd config: %w", err)
	}
	return c, c.Start(ctx)
}

// StartContainerdForTest starts a private containerd for a test that needs
// one of its own, below a new directory base named after prefix: a test of
// the harness itself or of the test image. It needs root. The context ends
// with the test or after 3 minutes; at cleanup containerd is closed and
// base removed.
func StartContainerdForTest(t testing.TB, prefix string) (ctx context.Context, base string, c *Containerd) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root to run containerd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	base, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	c, err = StartContainerd(ctx, filepath.Join(base, "c"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return ctx, base, c
}

// Start (re)starts the containerd process and waits until it answers.
func (c *Containerd) Start(ctx context.Context) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open containerd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(ContainerdBinary, "--config", c.config, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a signal aimed at the test binary must not reach it,
	// and shims must outlive a containerd we kill on purpose.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (install the containerd package): %w", ContainerdBinary, err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.exited) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Ctr(ctx, "default", "version"); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("containerd exited at start; log %s:\n%s", c.logPath, tail(c.logPath, 30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer on %s within 30s; log:\n%s", c.Address, tail(c.logPath, 30))
		}
	}
}

// PID is containerd's process id while it runs, else 0.
func (c *Containerd) PID() int {
	if !alive(c.cmd, c.exited) {
		return 0
	}
	return c.cmd.Process.Pid
}

// Stop sends sig (SIGTERM or SIGKILL) and waits for containerd to exit.
// Shims and containers keep running, as they do on a real host.
func (c *Containerd) Stop(sig syscall.Signal) error {
	return StopProcess("containerd", c.cmd, c.exited, sig, 30*time.Second)
}

// alive tells whether cmd, whose waiter closes exited, was started and has
// not exited.
func alive(cmd *exec.Cmd, exited <-chan struct{}) bool {
	if cmd == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// StopProcess sends sig to cmd, whose waiter closes exited, and waits for
// it to exit; after grace it kills the process and reports that it did.
// Stopping a process that was never started or has exited does nothing.
func StopProcess(name string, cmd *exec.Cmd, exited <-chan struct{}, sig syscall.Signal, grace time.Duration) error {
	if !alive(cmd, exited) {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not exit within %v of %v", name, grace, sig)
	}
}

// Ctr runs ctr against this containerd in namespace ns.
func (c *Containerd) Ctr(ctx context.Context, ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	full := append([]string{"--address", c.Address, "--namespace", ns}, args...)
	out, err := exec.CommandContext(ctx, "ctr", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// LogTail returns the last n lines of containerd's log.
func (c *Containerd) LogTail(n int) string { return tail(c.logPath, n) }

// Leftovers lists what is still present in containerd namespace ns:
// containers, tasks and active snapshots (one line each). Committed
// snapshots are the unpacked image layers and belong to the images.
func (c *Containerd) Leftovers(ctx context.Context, ns string) ([]string, error) {
	var found []string
	for _, what := range [][]string{{"containers", "ls", "-q"}, {"tasks", "ls", "-q"}, {"snapshots", "ls"}} {
		out, err := c.Ctr(ctx, ns, what...)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" || (what[0] == "snapshots" && (i == 0 || !strings.Contains(line, "Active"))) {
				continue // empty, the header, or a committed image layer
			}
			found = append(found, what[0]+": "+line)
		}
	}
	return found, nil
}

// Close stops containerd, kills every shim it left and removes its mounts.
func (c *Containerd) Close() error {
	var errs []error
	errs = append(errs, c.Stop(syscall.SIGTERM))
	errs = append(errs, KillProcessesMentioning(c.Dir))
	errs = append(errs, UnmountUnder(c.Dir))
	return errors.Join(errs...)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
