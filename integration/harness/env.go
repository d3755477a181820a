package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/testimage"
)

// Image names the tests use besides busybox:1.28 / busybox:latest.
const (
	ImageOther      = "docker.io/library/busybox:other"
	ImageStopSignal = "docker.io/library/busybox:stopsignal" // STOPSIGNAL SIGUSR1
	ImageUser       = "docker.io/library/busybox:user"       // User 1000
	ImageNoShell    = "docker.io/library/probeserver:latest" // /server only, no /bin/sh
	ImageSwapper    = "docker.io/library/busybox:swapper"    // busybox + /bin/swapper (renameat2 RENAME_EXCHANGE loop)
)

// Env is what one test binary shares: the built programs, one private
// containerd, one podrund, and the test images as tarballs.
type Env struct {
	Base       string // short temp dir (unix socket paths must stay < 108 bytes)
	Bins       Binaries
	Containerd *Containerd
	Daemon     *Podrund // the shared daemon; tests use their own pod namespace on it
	Images     []string // tarballs imported into every daemon
	Seeds      string   // directory of shared/seed-examples

	mu      sync.Mutex
	daemons int
}

// Setup builds podrund and podctl, starts containerd and the shared podrund
// and imports the test images. Call it from TestMain.
func Setup(ctx context.Context) (*Env, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("integration tests need root (containerd, mounts, namespaces)")
	}
	if os.Getenv("CI") == "true" || os.Getenv("PODRUN_SWEEP") == "1" {
		SweepStale()
	}
	base, err := os.MkdirTemp("", "podrun-it-")
	if err != nil {
		return nil, err
	}
	// The owner pid lets a later run recognise this dir as stale if this test
	// binary dies without cleanup (go test's -timeout panics past TestMain).
	if err := os.WriteFile(filepath.Join(base, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	e := &Env{Base: base}
	if e.Seeds, err = SeedDir(); err != nil {
		return e, err
	}
	if e.Bins, err = Build(ctx, filepath.Join(base, "bin")); err != nil {
		return e, err
	}
	if err := e.writeImages(); err != nil {
		return e, err
	}
	if e.Containerd, err = StartContainerd(ctx, filepath.Join(base, "ctrd")); err != nil {
		return e, err
	}
	e.Daemon, err = e.StartDaemon(ctx, "shared")
	return e, err
}

func (e *Env) writeImages() error {
	dir := filepath.Join(e.Base, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	specs := map[string]testimage.Spec{
		"busybox.tar":    testimage.Busybox(),
		"other.tar":      testimage.Variant(ImageOther),
		"stopsignal.tar": testimage.WithStopSignal(ImageStopSignal, "SIGUSR1"),
		"user.tar":       testimage.WithUser(ImageUser, "1000"),
		"noshell.tar":    testimage.NoShell(ImageNoShell, e.Bins.ProbeServer),
		"swapper.tar":    testimage.WithFile(ImageSwapper, e.Bins.Swapper, "/bin/swapper"),
	}
	for name, spec := range specs {
		p := filepath.Join(dir, name)
		if err := testimage.WriteFile(p, spec); err != nil {
			return fmt.Errorf("build test image %s: %w", name, err)
		}
		e.Images = append(e.Images, p)
	}
	return nil
}

// StartDaemon starts a podrund with its own socket, root, state and
// containerd namespace on the shared containerd, and imports the images.
func (e *Env) StartDaemon(ctx context.Context, name string) (*Podrund, error) {
	return e.StartDaemonOn(ctx, name, e.Containerd)
}

// StartDaemonOn is StartDaemon on another containerd.
func (e *Env) StartDaemonOn(ctx context.Context, name string, ctrd *Containerd) (*Podrund, error) {
	return e.StartDaemonWith(ctx, name, ctrd, "")
}

// StartDaemonWith is StartDaemonOn with extra lines appended to the
// daemon's config file (top-level YAML keys, such as limits).
func (e *Env) StartDaemonWith(ctx context.Context, name string, ctrd *Containerd, extraConfig string) (*Podrund, error) {
	e.mu.Lock()
	e.daemons++
	n := e.daemons
	e.mu.Unlock()
	dir := filepath.Join(e.Base, fmt.Sprintf("d%d", n))
	d := NewPodrund(e.Bins.Podrund, dir, ctrd.Address, fmt.Sprintf("podrun-it-%d-%s", n, name))
	d.Ctrd = ctrd
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d.Config = filepath.Join(dir, "podrund.yaml")
	if err := os.WriteFile(d.Config, []byte(daemonConfig(e.Base)+deviceDirsOff(extraConfig)+extraConfig), 0o644); err != nil {
		return nil, fmt.Errorf("write podrund config: %w", err)
	}
	if err := d.Start(ctx); err != nil {
		return d, err
	}
	for _, img := range e.Images {
		out, err := exec.CommandContext(ctx, e.Bins.Podctl, "--socket", d.Socket, "image", "import", img).CombinedOutput()
		if err != nil {
			return d, fmt.Errorf("podctl image import %s: %w\n%s", img, err, out)
		}
	}
	return d, nil
}

// SweepStale removes what dead harness runs left behind: for every
// /tmp/podrun-it-* whose owner test binary is gone, it kills the processes
// that mention the dir (its podrund, containerd, shims, containers),
// unmounts everything below it and removes it. It runs in CI (CI=true) or
// with PODRUN_SWEEP=1, never on dirs of a live test binary.
func SweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "podrun-it-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // not ours to judge: no owner recorded
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue // owner alive (or unreadable)
		}
		fmt.Fprintf(os.Stderr, "harness: removing stale %s of dead test binary %d\n", dir, pid)
		_ = KillProcessesMentioning(dir)
		_ = UnmountUnder(dir)
		_ = os.RemoveAll(dir)
	}
}

// daemonConfig allows hostPath volumes below the test base dir only: the
// order files of the tests must outlive the pods that write them. The level
// is privileged because tests prove what the sandbox grants (added
// capabilities, for one); the levels are proved on daemons of their own.
func daemonConfig(base string) string {
	return fmt.Sprintf("policy:\n  level: privileged\n  allowedHostPaths:\n  - %s\n", base)
}

// deviceDirsOff turns off the manifest and image directories that extra
// does not set: a test daemon must not apply the host's
// /etc/podrun/manifests.
func deviceDirsOff(extra string) string {
	var out string
	for _, key := range []string{"manifestDir", "imageDir"} {
		if !strings.Contains(extra, key+":") {
			out += key + ": \"\"\n"
		}
	}
	return out
}

// Close stops podrund(s) and containerd and removes everything.
func (e *Env) Close() error {
	var errs []error
	if e.Daemon != nil {
		errs = append(errs, e.Daemon.Stop(syscall.SIGTERM))
	}
	if e.Containerd != nil {
		errs = append(errs, e.Containerd.Close())
	}
	if e.Daemon != nil {
		errs = append(errs, RemovePodCgroups(e.Daemon))
	}
	errs = append(errs, KillProcessesMentioning(e.Base), UnmountUnder(e.Base))
	if os.Getenv("PODRUN_KEEP") == "" {
		errs = append(errs, os.RemoveAll(e.Base))
	}
	return errors.Join(errs...)
}

// LeakCheck reports what daemon d left in containerd and on the host once
// all its pods are gone: containers, tasks, active snapshots, mounts and
// processes below its dirs, namespace files of sandboxes, pod dirs and
// logs, pod cgroups.
func (e *Env) LeakCheck(ctx context.Context, d *Podrund) []string {
	return e.LeakCheckOn(ctx, d, e.Containerd)
}

// leakSettle bounds how long a leak check waits for leftovers to go on
// their own: containerd's task delete returns before the task's shim
// process has exited, so a check right after a pod's deletion (podrund
// stopped at a test's cleanup, the last test of a binary) can find a shim
// that is on its way out; on a loaded host it was seen there.
const leakSettle = 5 * time.Second

// LeakCheckOn is LeakCheck for a daemon on the given containerd. It looks
// again every 200 ms while something is left, for up to leakSettle, and
// reports what is still there then.
func (e *Env) LeakCheckOn(ctx context.Context, d *Podrund, ctrd *Containerd) []string {
	deadline := time.Now().Add(leakSettle)
	for {
		leaks := e.leaksOn(ctx, d, ctrd)
		if len(leaks) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return leaks
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// leaksOn is one look for what daemon d left (LeakCheckOn).
func (e *Env) leaksOn(ctx context.Context, d *Podrund, ctrd *Containerd) []string {
	var leaks []string
	left, err := ctrd.Leftovers(ctx, d.Namespace)
	if err != nil {
		leaks = append(leaks, "ctr: "+err.Error())
	}
	leaks = append(leaks, left...)
	mounts, err := MountsUnder(d.Dir)
	if err != nil {
		leaks = append(leaks, err.Error())
	}
	// Task rootfs mounts live in containerd's state, in a dir per namespace.
	ctrdMounts, _ := MountsUnder(ctrd.Dir)
	for _, m := range ctrdMounts {
		if strings.Contains(m, "/"+d.Namespace+"/") {
			mounts = append(mounts, m)
		}
	}
	for _, m := range mounts {
		leaks = append(leaks, "mount: "+m)
	}
	for _, p := range ProcessesMentioning(e.Base) {
		if p.PID == d.PID() || p.PID == ctrd.PID() || p.PID == e.Containerd.PID() {
			continue
		}
		shim := strings.Contains(p.Cmdline, "-namespace "+d.Namespace+" ")
		inContainer := strings.Contains(p.Root, "/"+d.Namespace+"/")
		if shim || inContainer || mentionsPath(p.Cmdline, d.Dir) {
			leaks = append(leaks, "process: "+p.String())
		}
	}
	for _, f := range FilesUnder(filepath.Join(d.State, "sandboxes")) {
		leaks = append(leaks, "netns/ipc/uts file: "+f)
	}
	// Per-pod dirs below --root (volumes, /etc files, termination logs;
	// container logs) go with their pods.
	for _, sub := range []string{"pods", "logs"} {
		entries, _ := os.ReadDir(filepath.Join(d.Root, sub))
		for _, e := range entries {
			leaks = append(leaks, "pod dir: "+filepath.Join(d.Root, sub, e.Name()))
		}
	}
	return append(leaks, CgroupLeaks(d)...)
}

// SeedDir finds shared/seed-examples: $PODRUN_SEEDS, else ../shared/seed-examples
// beside the repository root.
func SeedDir() (string, error) {
	if d := os.Getenv("PODRUN_SEEDS"); d != "" {
		return checkSeeds(d)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return checkSeeds(filepath.Join(filepath.Dir(root), "shared", "seed-examples"))
}

func checkSeeds(dir string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(m) == 0 {
		return "", fmt.Errorf("seed examples not found in %s: check out shared/ beside the repository or set PODRUN_SEEDS", dir)
	}
	return dir, nil
}

// Main is TestMain's body: Setup, run the tests, a final leak check of the
// shared daemon, Close. A setup failure fails the whole binary (never skips).
// With PODRUN_STRESS=1 the tests run beside one CPU hog per core (stress.go).
func Main(m *testing.M, env **Env) int {
	RunHogIfAsked()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	e, err := Setup(ctx)
	cancel()
	*env = e
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration setup failed:", err)
		if e != nil {
			_ = e.Close()
		}
		return 1
	}
	var hogs *Hogs
	if StressRequested() {
		if hogs, err = StartHogs(runtime.NumCPU()); err != nil {
			fmt.Fprintln(os.Stderr, "integration setup failed:", err)
			_ = e.Close()
			return 1
		}
		fmt.Fprintf(os.Stderr, "harness: stress mode, %d CPU hogs\n", hogs.Count())
	}
	code := m.Run()
	if err := hogs.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "integration cleanup:", err)
		code = 1
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if leaks := e.LeakCheck(ctx, e.Daemon); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "LEAK CHECK FAILED after all tests (shared podrund):\n  %s\n", strings.Join(leaks, "\n  "))
		code = 1
	}
	if err := e.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "integration cleanup:", err)
		code = 1
	}
	return code
}
