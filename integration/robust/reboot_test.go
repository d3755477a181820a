package robust

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// note appends the container's name to /shared/runs when it starts.
func note(name, rest string) string { return "echo " + name + " >> /shared/runs; " + rest }

func rebootPods(c *harness.Client) []any {
	// A sidecar counts as started once its process runs (R16, R17), before its
	// shell has written its line; its startup probe waits for the line, so
	// that init3's line comes after it on every run.
	side := sidecar(shell("side", note("side", "touch /tmp/noted; "+forever)))
	side.StartupProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 60,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-e", "/tmp/noted"}}}}
	always := newPod(c, "always", corev1.RestartPolicyAlways, []corev1.Container{
		shell("init1", note("init1", "true")),
		side,
		// init3 takes a while, so the Pending phase of re-initialization is seen (R80).
		shell("init3", note("init3", "sleep 3")),
	}, shell("app", note("app", forever)))
	onFailure := newPod(c, "onfailure", corev1.RestartPolicyOnFailure,
		[]corev1.Container{shell("init", note("init", "true"))}, shell("app", note("app", forever)))
	objs := []any{always, onFailure,
		newPod(c, "never-running", corev1.RestartPolicyNever, nil, shell("app", note("app", forever))),
		newPod(c, "never-done", corev1.RestartPolicyNever, nil, shell("app", note("app", "exit 0"))),
		newPod(c, "onfailure-done", corev1.RestartPolicyOnFailure, nil, shell("app", note("app", "exit 0"))),
	}
	for _, name := range bootPods {
		objs = append(objs, hookPod(c, name))
	}
	return objs
}

// bootPods start with a blocking postStart hook: at boot they show that
// re-initializing pods start with bounded parallelism.
var bootPods = []string{"boot-0", "boot-1", "boot-2", "boot-3"}

// TestReboot simulates a host reboot: podrund stops, every task and shim
// dies, containerd stops and its state directory is cleared, as is
// podrund's --state (tmpfs /run on a real host: the sandboxes are gone);
// the store is kept. After both start again R95 holds: Always and
// OnFailure pods re-run initialization in order with every restartCount
// incremented, Pending until the app is created (R80); Never pods and
// finished pods stay finished (R14); with concurrentPodStarts: 2 no more
// than two pods start at once at boot.
func TestReboot(t *testing.T) {
	t.Parallel()
	ctrd := env.PrivateContainerd(t)
	d := env.PrivateDaemonOn(t, ctrd)
	c := freshClient(t, d)
	setConcurrentPodStarts(t, d, 2)
	applyAll(t, c, rebootPods(c)...)
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		p := listPods(t, c)
		for _, name := range bootPods {
			if !isReady(p[name]) {
				return false
			}
		}
		return isReady(p["always"]) && isReady(p["onfailure"]) && isReady(p["never-running"]) &&
			phaseOf(p["never-done"]) == corev1.PodSucceeded && phaseOf(p["onfailure-done"]) == corev1.PodSucceeded
	}))
	before := listPods(t, c)
	var uids []string
	for _, p := range before {
		uids = append(uids, string(p.UID))
	}
	simulateReboot(t, d, ctrd, uids)
	w := watchNamespace(t, d, c.NS)

	var now map[string]*corev1.Pod
	reinitialized := func(name string) bool {
		return isReady(now[name]) &&
			restartsOf(now[name], "app") == restartsOf(before[name], "app")+1
	}
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return "pods not re-initialized:\n" + fmtPods(now) }, func() bool {
		now = listPods(t, c)
		for _, name := range bootPods {
			if !reinitialized(name) {
				return false
			}
		}
		return reinitialized("always") && reinitialized("onfailure") &&
			phaseOf(now["never-running"]) == corev1.PodFailed
	}))
	for _, name := range []string{"always", "onfailure"} {
		for _, s := range allStatuses(before[name]) {
			ns := harness.ContainerStatus(now[name], s.Name)
			if ns.RestartCount != s.RestartCount+1 || ns.ContainerID == s.ContainerID {
				t.Errorf("%s/%s after reboot: restartCount %d -> %d, id %s -> %s; want +1 and a new instance (R95)",
					name, s.Name, s.RestartCount, ns.RestartCount, s.ContainerID, ns.ContainerID)
			}
		}
	}
	// A status shows Running once the process started; its shell appends
	// to the runs file a moment later, so wait for the lines to be written.
	runs := func(file, want string) string {
		deadline := time.Now().Add(30 * time.Second)
		got := c.ReadHostFile(file)
		for len(got) < len(want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			got = c.ReadHostFile(file)
		}
		return got
	}
	if want := strings.Repeat("init1\nside\ninit3\napp\n", 2); runs("always/runs", want) != want {
		got := c.ReadHostFile("always/runs")
		t.Errorf("always pod's initialization after reboot ran %q, want %q (R95: in order, again)", got, want)
	}
	if want := strings.Repeat("init\napp\n", 2); runs("onfailure/runs", want) != want {
		got := c.ReadHostFile("onfailure/runs")
		t.Errorf("onfailure pod ran %q, want %q", got, want)
	}
	if most := maxStartsInFlight(t, c, bootPods, 2); most > 2 {
		t.Errorf("%d pod starts in flight at once (before or after the reboot), concurrentPodStarts is 2", most)
	}
	checkPendingUntilApp(t, w, before["always"])
	checkStaysFinished(t, c, before, now)
}

// simulateReboot kills podrund, every task and shim and containerd, clears
// containerd's state dir and podrund's --state, and starts both again at
// once.
func simulateReboot(t *testing.T, d *harness.Podrund, ctrd *harness.Containerd, podUIDs []string) {
	t.Helper()
	if err := d.Stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := ctrd.Stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Shims, container processes and podrund's log copiers die with the host.
	for _, dir := range []string{ctrd.Dir, d.Dir} {
		if err := harness.KillProcessesMentioning(dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{filepath.Join(ctrd.Dir, "state"), d.State} {
		if err := harness.UnmountUnder(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatalf("clear %s: %v", dir, err)
		}
	}
	removePodCgroups(t, podUIDs)
	// At boot systemd starts both together: podrund first here, so that it
	// finds containerd's stale socket refusing and must wait for it, not
	// start a containerd of its own on the same socket.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Launch(); err != nil {
		t.Fatal(err)
	}
	if err := ctrd.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitReady(ctx, time.Minute); err != nil {
		t.Fatalf("podrund after reboot: %v", err)
	}
	if procs := embeddedContainerds(d.Dir); len(procs) > 0 {
		t.Fatalf("podrund started its own containerd at boot:\n%s", strings.Join(procs, "\n"))
	}
}

// checkPendingUntilApp: once re-initialization shows (Pending), no update
// reports Running until the app's new instance exists (R80).
func checkPendingUntilApp(t *testing.T, w *nsWatch, prev *corev1.Pod) {
	t.Helper()
	oldApp := harness.ContainerStatus(prev, "app").ContainerID
	sawPending, sawRunning := false, false
	var trail []string
	for _, ev := range w.all() {
		if ev.Pod.Name != "always" {
			continue
		}
		app := harness.ContainerStatus(ev.Pod, "app")
		trail = append(trail, fmt.Sprintf("%s app=%s/%s", ev.Pod.Status.Phase, harness.StateString(app.State), app.ContainerID))
		switch ev.Pod.Status.Phase {
		case corev1.PodPending:
			sawPending = true
		case corev1.PodRunning:
			if sawPending && (app.ContainerID == "" || app.ContainerID == oldApp) {
				t.Errorf("Running before the app was re-created (R80): %s", describe(ev.Pod))
			}
			if sawPending {
				sawRunning = true
			}
		}
	}
	if !sawPending || !sawRunning {
		t.Errorf("always pod after reboot: want Pending then Running (R80), saw %v", trail)
	}
}

// checkStaysFinished: a Never pod that ran is not re-created, finished
// pods keep their final status (R14, R95).
func checkStaysFinished(t *testing.T, c *harness.Client, before, now map[string]*corev1.Pod) {
	t.Helper()
	for _, name := range []string{"never-running", "never-done", "onfailure-done"} {
		b, n := harness.ContainerStatus(before[name], "app"), harness.ContainerStatus(now[name], "app")
		if n.RestartCount != b.RestartCount || n.ContainerID != b.ContainerID || n.State.Terminated == nil {
			t.Errorf("%s re-created after reboot: %s", name, describe(now[name]))
		}
	}
	for _, name := range []string{"never-done", "onfailure-done"} {
		if now[name].Status.Phase != corev1.PodSucceeded {
			t.Errorf("%s: phase %s after reboot, want Succeeded", name, now[name].Status.Phase)
		}
		if got := c.ReadHostFile(name + "/runs"); got != "app\n" {
			t.Errorf("%s ran again after reboot: %q", name, got)
		}
	}
	if got := c.ReadHostFile("never-running/runs"); got != "app\n" {
		t.Errorf("never-running ran again after reboot: %q", got)
	}
}

// removePodCgroups removes the (now empty) cgroups of the pods' killed
// containers, as a reboot does: podrund's pod cgroups are
// <hierarchy>/podrun/pod<uid>[/<container>] (cgroup v1 and v2).
func removePodCgroups(t *testing.T, podUIDs []string) {
	t.Helper()
	var dirs []string
	for _, uid := range podUIDs {
		for _, pattern := range []string{"/sys/fs/cgroup/*/podrun/pod" + uid, "/sys/fs/cgroup/podrun/pod" + uid} {
			roots, _ := filepath.Glob(pattern)
			for _, root := range roots {
				_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
					if err == nil && e.IsDir() {
						dirs = append(dirs, p)
					}
					return nil
				})
			}
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) }) // children first
	// Killed tasks leave their cgroups a moment later: retry while busy.
	var left []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// The containers' processes die with the host too; with their
		// shims killed they were reparented to init and would outlive
		// the test (they mention no temp dir for KillProcessesMentioning).
		killCgroupProcs(dirs)
		left = left[:0]
		for _, dir := range dirs {
			if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				left = append(left, dir+": "+err.Error())
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		// Killed processes stay in their cgroup until reaped; a PID 1 that
		// does not reap orphans (some sandboxes) keeps them populated.
		t.Logf("%d cgroups of killed containers are still populated (podrund must cope), e.g. %s", len(left), left[0])
	}
}

// killCgroupProcs SIGKILLs every process in the cgroup dirs.
func killCgroupProcs(dirs []string) {
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
