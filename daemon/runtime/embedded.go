package runtime

import (
	"context"
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

// EnsureContainerd returns address as is when a containerd answers there.
// Otherwise, when a containerd binary is on PATH, it starts one as a child
// process (k3s style) with its root and state under root/containerd and
// state/containerd, listening on address, with the CRI plugin disabled, and
// waits until it answers. stop terminates the embedded containerd (a no-op
// for an external one); running tasks survive in their shims.
func EnsureContainerd(ctx context.Context, address, root, state string, log *zap.Logger) (string, func(), error) {
	if log == nil {
		log = zap.NewNop()
	}
	if answers(address) {
		log.Info("using containerd", zap.String("address", address))
		return address, func() {}, nil
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return "", nil, fmt.Errorf("no containerd answers on %s and no containerd binary is on PATH: "+
			"install containerd (apt-get install containerd) or pass --containerd-address", address)
	}
	cfg, err := writeContainerdConfig(address, root, state)
	if err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(root, "containerd", "containerd.log")
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
	log.Warn("no containerd was running: podrund started its own containerd",
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
