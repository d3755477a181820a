package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Binaries are the programs built from this tree once per test binary.
type Binaries struct {
	Dir         string
	Podrund     string
	Logger      string // podrund-logger, beside podrund where podrund looks first
	Podctl      string
	ProbeServer string // static, for the noshell image
	Swapper     string // static, /bin/swapper of the swapper image
}

// ModuleRoot finds the directory holding podrun's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the podrun module")
	}
	return filepath.Dir(mod), nil
}

// BuildTags are the build tags podrun's binaries are built with, here as in
// scripts/: grpcnotrace drops gRPC's golang.org/x/net/trace, whose
// html/template calls methods by name through reflection; that alone makes
// the linker keep every exported method of every type and grows podrund
// from about 36 to 44 MB, and its idle RSS by about 4 MiB.
const BuildTags = "grpcnotrace"

// Build compiles podrund, podrund-logger, podctl and the probe server into dir.
func Build(ctx context.Context, dir string) (Binaries, error) {
	root, err := ModuleRoot()
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Dir: dir, Podrund: filepath.Join(dir, "podrund"), Logger: filepath.Join(dir, "podrund-logger"),
		Podctl: filepath.Join(dir, "podctl"), ProbeServer: filepath.Join(dir, "probeserver"),
		Swapper: filepath.Join(dir, "swapper")}
	for _, job := range []struct{ out, pkg string }{
		{b.Podrund, "./cmd/podrund"},
		{b.Logger, "./cmd/podrund-logger"},
		{b.Podctl, "./cmd/podctl"},
		{b.ProbeServer, "./integration/testimage/probeserver"},
		{b.Swapper, "./integration/testimage/swapper"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", BuildTags, "-o", job.out, job.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %w\n%s", job.pkg, err, out)
		}
	}
	return b, nil
}

// Podrund is one podrund process with its own root, state, socket and
// containerd namespace.
type Podrund struct {
	Bin               string
	Dir               string
	Socket            string
	Root              string
	State             string
	Namespace         string // containerd namespace
	ContainerdAddress string
	Config            string // optional --config file
	LogPath           string
	Ctrd              *Containerd // the harness containerd it talks to, if any
	cmd               *exec.Cmd
	exited            chan struct{}
}

// NewPodrund lays out dirs for a podrund below dir (not started yet).
func NewPodrund(bin, dir, containerdAddress, namespace string) *Podrund {
	return &Podrund{
		Bin: bin, Dir: dir, Socket: filepath.Join(dir, "podrund.sock"),
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Namespace: namespace, ContainerdAddress: containerdAddress,
		LogPath: filepath.Join(dir, "podrund.log"),
	}
}

// Start runs podrund and waits until GET /readyz answers 200.
func (d *Podrund) Start(ctx context.Context) error {
	if err := d.Launch(); err != nil {
		return err
	}
	return d.WaitReady(ctx, 60*time.Second)
}

// Launch starts the podrund process and returns at once (a boot where
// podrund comes up before containerd); WaitReady waits for it.
func (d *Podrund) Launch() error {
	for _, p := range []string{d.Root, d.State} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	logf, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open podrund log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==== harness: starting podrund at %s\n", time.Now().Format(time.RFC3339Nano))
	args := []string{"--socket", d.Socket, "--root", d.Root, "--state", d.State,
		"--containerd-address", d.ContainerdAddress, "--namespace", d.Namespace, "--log-level", "debug"}
	if d.Config != "" {
		args = append(args, "--config", d.Config)
	}
	cmd := exec.Command(d.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start podrund: %w", err)
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(d.exited) }()
	return nil
}

// WaitReady waits until GET /readyz answers 200 or podrund exits.
func (d *Podrund) WaitReady(ctx context.Context, timeout time.Duration) error {
	hc := UnixClient(d.Socket)
	get := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://podrund/readyz", nil)
		return hc.Do(req)
	}
	last, err := PollReady(ctx, timeout, d.exited, get, http.StatusOK)
	switch {
	case errors.Is(err, ErrExited):
		return fmt.Errorf("podrund exited before ready (%v); log %s:\n%s", d.cmd.ProcessState, d.LogPath, tail(d.LogPath, 40))
	case errors.Is(err, ErrNotReady):
		return fmt.Errorf("podrund not ready within %v (last: %s); log:\n%s", timeout, last, tail(d.LogPath, 40))
	}
	return err
}

// ErrExited and ErrNotReady are why PollReady gave up: the process
// exited, or the time ran out.
var (
	ErrExited   = errors.New("exited before ready")
	ErrNotReady = errors.New("not ready in time")
)

// PollReady asks get every 50 ms until it answers one of the ready
// statuses; it gives up when exited is closed (the server process ended),
// ctx ends or timeout passes, and then returns what it saw last (a status
// or an error).
func PollReady(ctx context.Context, timeout time.Duration, exited <-chan struct{}, get func() (*http.Response, error), ready ...int) (last string, err error) {
	deadline := time.Now().Add(timeout)
	last = "no answer"
	for time.Now().Before(deadline) {
		resp, err := get()
		if err == nil {
			resp.Body.Close()
			if slices.Contains(ready, resp.StatusCode) {
				return "", nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return last, ErrExited
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return last, ErrNotReady
}

// PID is the process id while running, else 0.
func (d *Podrund) PID() int {
	if !d.Running() {
		return 0
	}
	return d.cmd.Process.Pid
}

// Running reports whether the process is alive.
func (d *Podrund) Running() bool { return alive(d.cmd, d.exited) }

// Stop sends sig and waits for podrund to exit (SIGKILL after 60 s).
func (d *Podrund) Stop(sig syscall.Signal) error {
	return StopProcess("podrund", d.cmd, d.exited, sig, 60*time.Second)
}

// Restart stops podrund with sig (SIGKILL or SIGTERM) and starts it again.
func (d *Podrund) Restart(ctx context.Context, sig syscall.Signal) error {
	if err := d.Stop(sig); err != nil {
		return err
	}
	return d.Start(ctx)
}

// LogTail returns the last n lines of podrund's log.
func (d *Podrund) LogTail(n int) string { return tail(d.LogPath, n) }

// LogGrep returns the last n lines of podrund's log that mention substr
// (a pod namespace, so that a failing test sees its own pods' story), API
// request lines left out.
func (d *Podrund) LogGrep(substr string, n int) string {
	b, err := os.ReadFile(d.LogPath)
	if err != nil {
		return err.Error()
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) && !strings.Contains(l, `"logger":"api"`) {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}

// UnixClient is an HTTP client that dials the unix socket for every request.
func UnixClient(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}
}
