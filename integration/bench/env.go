package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/integration/harness"
	"github.com/podrun/podrun/integration/testimage"
)

// BenchImage is the image every benchmark container runs; its tag makes
// the default pull policy IfNotPresent, so nothing is pulled.
const BenchImage = "docker.io/library/busybox:1.28"

// Env is one benchmark run's world: the programs built from this tree, a
// private containerd, the busybox image tarball, and the podrund processes
// started so far. It wraps harness.Env so the harness's leak check and
// cleanup apply unchanged.
type Env struct {
	H        *harness.Env
	ImageTar string
	BuildErr error // podrund/podctl did not build: every daemon start fails with it
	// podrundBin runs podrund at the benchmark's log level: the harness
	// starts it with --log-level debug, and debug logging is not what a
	// host runs, so a wrapper appends the wanted level (the last one wins).
	podrundBin string
	daemons    []*Daemon
}

// Daemon is one podrund with a REST client and a host directory its pods
// may mount (hostPath) to leave files the benchmark watches.
type Daemon struct {
	P       *harness.Podrund
	C       *client.Client
	HostDir string
	Fresh   Snapshot // right after it became ready, before the image import
}

// Setup builds podrund and podctl, writes the test image and starts a
// private containerd.
func Setup(ctx context.Context, logLevel string) (*Env, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the benchmark needs root (containerd, mounts, namespaces)")
	}
	base, err := os.MkdirTemp("", "podrun-bench-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	e := &Env{H: &harness.Env{Base: base}}
	// A tree whose podrund does not build yet still gets its floor measured.
	e.H.Bins, e.BuildErr = harness.Build(ctx, filepath.Join(base, "bin"))
	if e.BuildErr == nil {
		if e.podrundBin, err = logLevelWrapper(e.H.Bins, logLevel); err != nil {
			return e, err
		}
	}
	e.ImageTar = filepath.Join(base, "busybox.tar")
	if err := testimage.WriteFile(e.ImageTar, testimage.Busybox()); err != nil {
		return e, fmt.Errorf("build test image: %w", err)
	}
	e.H.Images = []string{e.ImageTar}
	if e.H.Containerd, err = harness.StartContainerd(ctx, filepath.Join(base, "ctrd")); err != nil {
		return e, err
	}
	return e, nil
}

// CNIConfig is a bridge network for the CNI mode.
type CNIConfig struct {
	ConfDir string
	BinDir  string
	Bridge  string
}

// daemonConfig is podrund's --config file: hostPaths below the run's base
// dir, when cni is set, CNI networking, and the log writer.
func daemonConfig(base string, cni *CNIConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy:\n  allowedHostPaths:\n  - %s\n", base)
	if cni != nil {
		fmt.Fprintf(&b, "cni:\n  confDir: %s\n  binDir: %s\n", cni.ConfDir, cni.BinDir)
	}
	// BENCH_LOG_WRITER=perContainer measures the old log path against the
	// shared writer, the default.
	if v := os.Getenv("BENCH_LOG_WRITER"); v != "" {
		fmt.Fprintf(&b, "logWriter: %s\n", v)
	}
	return b.String()
}

// StartDaemon starts a fresh podrund (own socket, dirs and containerd
// namespace) on the run's containerd and imports the image through the API.
func (e *Env) StartDaemon(ctx context.Context, name string, cni *CNIConfig) (*Daemon, error) {
	return e.StartDaemonWith(ctx, name, cni, "")
}

// StartDaemonWith is StartDaemon with extra lines in podrund's config file
// (e.g. "prepareAhead: true\n").
func (e *Env) StartDaemonWith(ctx context.Context, name string, cni *CNIConfig, extraConfig string) (*Daemon, error) {
	if e.BuildErr != nil {
		return nil, e.BuildErr
	}
	dir := filepath.Join(e.H.Base, fmt.Sprintf("d%d", len(e.daemons)+1))
	p := harness.NewPodrund(e.podrundBin, dir, e.H.Containerd.Address, "podrun-bench-"+name)
	p.Ctrd = e.H.Containerd
	d := &Daemon{P: p, C: client.New(p.Socket), HostDir: filepath.Join(e.H.Base, "host", name)}
	e.daemons = append(e.daemons, d)
	for _, dir := range []string{dir, d.HostDir} {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	p.Config = filepath.Join(dir, "podrund.yaml")
	err := os.WriteFile(p.Config, []byte(daemonConfig(e.H.Base, cni)+extraConfig), 0o644)
	if err != nil {
		return nil, fmt.Errorf("write podrund config: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	if d.Fresh, err = d.snapshot(ctx); err != nil {
		return nil, err
	}
	f, err := os.Open(e.ImageTar)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := d.C.ImportImage(ctx, f); err != nil {
		return nil, fmt.Errorf("import %s into podrund %s: %w", e.ImageTar, name, err)
	}
	return d, nil
}

// StopDaemon deletes the daemon's pods in namespace ns (when any are left
// after a failure), stops it and returns the harness's leak check of what
// it left behind.
func (e *Env) StopDaemon(ctx context.Context, d *Daemon, ns string) ([]string, error) {
	var errs []error
	if d.P.Running() && ns != "" {
		_, err := deleteAll(ctx, d, ns)
		errs = append(errs, err)
	}
	errs = append(errs, d.P.Stop(syscall.SIGTERM))
	leaks := e.H.LeakCheckOn(ctx, d.P, e.H.Containerd)
	return leaks, errors.Join(errs...)
}

// Close stops every daemon, containerd and removes the run's files;
// anything a failed phase left is killed and unmounted by the harness.
func (e *Env) Close() error {
	var errs []error
	for _, d := range e.daemons {
		errs = append(errs, d.P.Stop(syscall.SIGKILL))
	}
	if e.H.Containerd != nil {
		errs = append(errs, e.H.Containerd.Close())
	}
	errs = append(errs, harness.KillProcessesMentioning(e.H.Base), harness.UnmountUnder(e.H.Base))
	if os.Getenv("PODRUN_KEEP") == "" {
		errs = append(errs, os.RemoveAll(e.H.Base))
	}
	return errors.Join(errs...)
}

// settle lets a daemon finish background work after a burst (status
// writes, reaping) before a measurement.
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func logLevelWrapper(bins harness.Binaries, level string) (string, error) {
	path := filepath.Join(bins.Dir, "podrund-"+level)
	script := fmt.Sprintf("#!/bin/sh\nexec %s \"$@\" --log-level %s\n", bins.Podrund, level)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("write podrund wrapper: %w", err)
	}
	return path, nil
}
