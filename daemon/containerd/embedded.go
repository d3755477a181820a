package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// containerdStartTimeout bounds the wait for an embedded containerd.
const containerdStartTimeout = 30 * time.Second

// Back-off of the wait for a containerd podrund does not start: first
// retry after a second, then doubling up to every five seconds, so that a
// boot where containerd comes up late costs at most a few seconds more.
const (
	containerdFirstRetry = time.Second
	containerdMaxRetry   = 5 * time.Second
)

// ContainerdOptions says where podrund finds containerd and whether it may
// start one of its own.
type ContainerdOptions struct {
	// Address is containerd's gRPC socket.
	Address string
	// Root and State hold an embedded containerd's dirs (root/containerd,
	// state/containerd).
	Root, State string
	// Embedded lets podrund start a containerd of its own on Address, but
	// only when nothing listens there (config embeddedContainerd). Without
	// it podrund waits for the containerd at Address for as long as it
	// takes and never starts one: at boot systemd starts containerd and
	// podrund together, and a second containerd with another root on the
	// same socket would hide the host's containers from podrund.
	Embedded bool
	Logger   *zap.Logger
	// Waiting, if set, is called before each wait with its length and the
	// reason (podrund tells systemd it is still starting).
	Waiting func(retryIn time.Duration, why error)
}

// EnsureContainerd returns the address once a containerd answers there.
// When none does, it waits with back-off until one does or ctx ends;
// with o.Embedded and nothing listening on the address (no socket, or a
// socket file left by a containerd that died: connection refused) it
// starts one as a child process (k3s style) with its root and state under
// Root/containerd and State/containerd, with the CRI plugin disabled, and
// waits until it answers. stop terminates the embedded containerd (a
// no-op for an external one); running tasks survive in their shims.
func EnsureContainerd(ctx context.Context, o ContainerdOptions) (string, func(), error) {
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	retry := containerdFirstRetry
	for attempt := 1; ; attempt++ {
		state, err := probeSocket(o.Address)
		switch {
		case state == socketAnswers:
			log.Info("using containerd", zap.String("address", o.Address), zap.Int("attempt", attempt))
			return o.Address, func() {}, nil
		case o.Embedded && (state == socketAbsent || state == socketStale):
			return startEmbedded(ctx, o, state, log)
		}
		log.Info("waiting for containerd", zap.String("address", o.Address), zap.Int("attempt", attempt),
			zap.Duration("retryIn", retry), zap.NamedError("reason", err))
		if o.Waiting != nil {
			o.Waiting(retry, err)
		}
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("no containerd answered on %s: %w (last: %v)", o.Address, ctx.Err(), err)
		case <-time.After(retry):
		}
		retry = min(2*retry, containerdMaxRetry)
	}
}

// Where EmbedContainerd looks for a service manager that starts
// containerd: systemd's runtime directory exists only while systemd is
// PID 1, and the unit directories hold an installed containerd.service.
var (
	systemdRuntimeDir = "/run/systemd/system"
	systemdUnitDirs   = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
		"/usr/lib/systemd/system", "/lib/systemd/system"}
)

// EmbedContainerd says whether podrund may start its own containerd, and
// why. An explicit setting wins. Unset, podrund starts one only where no
// one else will: the address is the default (an address given explicitly
// names a containerd someone runs, which is waited for) and containerd is
// not a service of this host (systemd does not run, or has no
// containerd.service). At boot systemd starts containerd and podrund
// together, and a containerd of podrund's own on the same socket would
// hide the host's containers, so on such a host podrund always waits.
func EmbedContainerd(setting *bool, address, defaultAddress string) (bool, string) {
	switch {
	case setting != nil && *setting:
		return true, "embeddedContainerd is set"
	case setting != nil:
		return false, "embeddedContainerd is false"
	case address != defaultAddress:
		return false, "the containerd address was given explicitly"
	}
	if _, err := os.Stat(systemdRuntimeDir); err == nil {
		for _, dir := range systemdUnitDirs {
			if _, err := os.Stat(filepath.Join(dir, "containerd.service")); err == nil {
				return false, "containerd is a systemd service here (" + filepath.Join(dir, "containerd.service") + ")"
			}
		}
	}
	return true, "no service starts containerd on this host"
}

// socketState is what a dial of containerd's socket found.
type socketState int

const (
	socketAnswers socketState = iota // something accepts connections
	socketAbsent                     // no such file: nothing started yet, or /run after a boot
	socketStale                      // a socket file nobody listens on: its containerd died
	socketOther                      // anything else (permissions, a full backlog): leave it be
)

func probeSocket(address string) (socketState, error) {
	conn, err := net.DialTimeout("unix", address, time.Second)
	if err == nil {
		conn.Close()
		return socketAnswers, nil
	}
	switch {
	case errors.Is(err, syscall.ENOENT):
		return socketAbsent, err
	case errors.Is(err, syscall.ECONNREFUSED):
		if fi, lerr := os.Lstat(address); lerr == nil && fi.Mode().Type() == os.ModeSocket {
			return socketStale, err
		}
	}
	return socketOther, err
}

// startEmbedded starts podrund's own containerd on o.Address, where
// nothing listens.
func startEmbedded(ctx context.Context, o ContainerdOptions, state socketState, log *zap.Logger) (string, func(), error) {
	address := o.Address
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return "", nil, fmt.Errorf("embeddedContainerd is set, no containerd answers on %s and no containerd binary is on PATH: "+
			"install containerd (apt-get install containerd)", address)
	}
	if state == socketStale {
		// A dead containerd's socket: the new one would replace it too.
		log.Warn("removing the socket of a containerd that no longer listens", zap.String("address", address))
		if err := os.Remove(address); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("remove stale containerd socket: %w", err)
		}
	}
	cfg, err := writeContainerdConfig(address, o.Root, o.State)
	if err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(o.Root, "containerd", "containerd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return "", nil, fmt.Errorf("open embedded containerd log: %w", err)
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a terminal's ^C must not kill containerd
	// before podrund has finished with it; it also outlives a crashed podrund,
	// and the next podrund finds it answering.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", nil, fmt.Errorf("start embedded containerd %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	log.Warn("no containerd was running: podrund started its own containerd (embeddedContainerd)",
		zap.String("binary", bin), zap.String("address", address), zap.String("config", cfg),
		zap.String("log", logPath), zap.Int("pid", cmd.Process.Pid))
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitAnswers(ctx, address, exited); err != nil {
		stop()
		return "", nil, fmt.Errorf("embedded containerd (log %s): %w", logPath, err)
	}
	return address, stop, nil
}

// writeContainerdConfig writes the embedded containerd's config.toml
// (version 2: read by containerd 1.6, 1.7 and 2.x).
func writeContainerdConfig(address, root, state string) (string, error) {
	dir := filepath.Join(root, "containerd")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("create containerd root: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(address), 0o711); err != nil {
		return "", fmt.Errorf("create containerd socket dir: %w", err)
	}
	cfg := ContainerdConfig(address, filepath.Join(dir, "root"), filepath.Join(state, "containerd"))
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("write containerd config: %w", err)
	}
	return path, nil
}

// ContainerdConfig is a minimal containerd config: own root, state and
// socket, no CRI (podrund is the only client).
func ContainerdConfig(address, root, state string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"]

[grpc]
  address = %q

[ttrpc]
  address = %q
`, root, state, address, address+".ttrpc")
}

// answers reports whether something accepts connections on the socket.
func answers(address string) bool {
	conn, err := net.DialTimeout("unix", address, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func waitAnswers(ctx context.Context, address string, exited <-chan error) error {
	deadline := time.NewTimer(containerdStartTimeout)
	defer deadline.Stop()
	for !answers(address) {
		select {
		case err := <-exited:
			return fmt.Errorf("containerd exited during start: %v", err)
		case <-deadline.C:
			return fmt.Errorf("containerd did not answer on %s within %s", address, containerdStartTimeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
