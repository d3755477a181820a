package robust

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// restartPods are the 20 pods of TestDaemonRestart: plain apps, native
// sidecars, readiness and startup probes (on apps and sidecars), a
// completed init container, a container that exits while podrund is down,
// and a Job's pod; the crash-looping pod is applied later.
func restartPods(c *harness.Client) []any {
	var objs []any
	add := func(p *corev1.Pod) { objs = append(objs, p) }
	always := corev1.RestartPolicyAlways
	for i := range 6 {
		add(newPod(c, fmt.Sprintf("plain-%d", i), always, nil, shell("app", forever)))
	}
	for i := range 3 {
		add(newPod(c, fmt.Sprintf("sidecar-%d", i), always,
			[]corev1.Container{sidecar(shell("side", forever))}, shell("app", forever)))
	}
	for i := range 3 {
		add(newPod(c, fmt.Sprintf("ready-%d", i), always, nil, withProbes(shell("app", httpServe), true, false)))
	}
	for i := range 2 {
		add(newPod(c, fmt.Sprintf("startup-%d", i), always, nil, withProbes(shell("app", httpServe), true, true)))
	}
	add(newPod(c, "probed-sidecar", always,
		[]corev1.Container{sidecar(withProbes(shell("side", httpServe), true, true))},
		shell("app", forever)))
	add(newPod(c, "init-done", always, []corev1.Container{shell("init", "echo init >> /shared/runs")},
		shell("app", forever)))
	add(newPod(c, "onfailure", corev1.RestartPolicyOnFailure, nil, shell("app", forever)))
	add(newPod(c, "never", corev1.RestartPolicyNever, nil, shell("app", forever)))
	// exits 1 once /shared/exit appears (consumed, so the restart runs on).
	add(newPod(c, "exit-while-down", always, nil,
		shell("app", "trap 'exit 0' TERM; while [ ! -f /shared/exit ]; do sleep 0.2; done; rm /shared/exit; exit 1")))
	objs = append(objs, newJob(c, "job1",
		shell("work", "trap 'exit 0' TERM; while [ ! -f /shared/go ]; do sleep 0.2; done; exit 0")))
	return objs
}

// TestDaemonRestart: podrund is SIGKILLed, then SIGTERMed, with 20 pods
// running; each time the new podrund re-adopts everything (R94): no
// container restarts, no status update flaps ready/started, the exit that
// happened while it was down is caught up (restartCount +1, lastState),
// the Job completes exactly once, and the crash-looping container keeps
// its back-off (R35).
func TestDaemonRestart(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	applyAll(t, c, restartPods(c)...)
	harness.Eventually(t, 4*time.Minute, harness.Check(func() string { return "pods not all Ready:\n" + fmtPods(listPods(t, c)) }, func() bool {
		pods := listPods(t, c)
		n := 0
		for name, p := range pods {
			if !strings.HasPrefix(name, "job1-") && isReady(p) {
				n++
			}
		}
		return n == 19 && len(pods) == 20
	}))
	if got := c.ReadHostFile("init-done/runs"); got != "init\n" {
		t.Fatalf("init container ran %q before any restart", got)
	}
	// The crash-looping pod comes last, so that podrund is killed while it
	// waits out the back-off after its second restart (20 s, R35).
	applyAll(t, c, newPod(c, "crashloop", corev1.RestartPolicyAlways, nil, shell("app", "exit 1")))
	var crash *corev1.Pod
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return describe(crash) }, func() bool {
		crash = c.GetPod("crashloop")
		s := harness.ContainerStatus(crash, "app")
		// Waiting in back-off, not being created: a SIGKILL during a create
		// can leave a shim containerd never shuts down (see deleteAllAndCheckShims).
		return s != nil && s.RestartCount >= 2 && s.State.Waiting != nil &&
			s.State.Waiting.Reason == "CrashLoopBackOff" && s.LastTerminationState.Terminated != nil
	}))
	waitShimGone(t, d, harness.ContainerStatus(crash, "app").LastTerminationState.Terminated.ContainerID)

	before := listPods(t, c)
	r1 := restartAndCheck(t, c, d, syscall.SIGKILL, before, unchanging, func() {
		// While podrund is down: an app exits and the Job's container finishes.
		for _, f := range []string{"exit-while-down/exit", "job1/go"} {
			if err := os.WriteFile(filepath.Join(c.HostDir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	checkCaughtUp(t, c, before["exit-while-down"])
	checkBackoffKept(t, crash, r1)
	checkJobOnce(t, c)

	// SIGTERM: the same, with everything settled (the exited app running again).
	harness.Eventually(t, time.Minute, harness.Check(func() string { return describe(c.GetPod("exit-while-down")) }, func() bool {
		return isReady(c.GetPod("exit-while-down"))
	}))
	before = listPods(t, c)
	// Now the once-exited app must stay as it is, too.
	restartAndCheck(t, c, d, syscall.SIGTERM, before, func(name string) bool {
		return name == "exit-while-down" || unchanging(name)
	}, nil)
	checkJobOnce(t, c)
	if got := c.ReadHostFile("init-done/runs"); got != "init\n" {
		t.Errorf("completed init container re-ran across podrund restarts (R94): runs %q", got)
	}
	c.MustPodctl("delete", "job", "job1")
	harness.Eventually(t, time.Minute, harness.Check(func() string { return "the Job's pod outlives the Job" }, func() bool {
		for name := range listPods(t, c) {
			if strings.HasPrefix(name, "job1-") {
				return false
			}
		}
		return true
	}))
	deleteAllAndCheckShims(t, c, d)
}

// waitShimGone waits until the shim of an exited instance is gone, i.e.
// podrund has reaped it. The engine reports the exit (CrashLoopBackOff)
// before it reaps, and a SIGKILL of podrund in the middle of containerd's
// task delete can leave the shim running with no task to list it:
// containerd deletes the task and then shuts the shim down on the request's
// context, which the dying client cancels (containerd's own comment there: "the shim might be
// leaked"). podrund cannot prevent that for a SIGKILL; the test means to
// kill podrund while it waits out the back-off, not in that window.
func waitShimGone(t *testing.T, d *harness.Podrund, containerID string) {
	t.Helper()
	id := strings.TrimPrefix(containerID, "containerd://")
	harness.Eventually(t, time.Minute, harness.Check(func() string { return "the exited instance " + id + " is not reaped" }, func() bool {
		for _, p := range harness.ProcessesMentioning(env.Base) {
			if strings.Contains(p.Cmdline, "containerd-shim") && strings.Contains(p.Cmdline, " -id "+id+" ") {
				return false
			}
		}
		return true
	}))
}

// unchanging are the pods whose containers all run and must stay exactly
// as they are across a restart.
func unchanging(name string) bool {
	return name != "crashloop" && name != "exit-while-down" && !strings.HasPrefix(name, "job1-")
}

// restartAndCheck stops podrund with sig, runs whileDown, starts it again
// and watches the pods for a while: every update of an unchanging pod must
// show the same instances, restart counts, ready and started values and
// phase as before. It returns the watch, still running.
func restartAndCheck(t *testing.T, c *harness.Client, d *harness.Podrund, sig syscall.Signal,
	before map[string]*corev1.Pod, unchanging func(pod string) bool, whileDown func()) *nsWatch {
	t.Helper()
	if err := d.Stop(sig); err != nil {
		t.Fatal(err)
	}
	if whileDown != nil {
		whileDown()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start podrund after %v: %v", sig, err)
	}
	w := watchNamespace(t, d, c.NS)
	// Observation window: re-adoption runs right after start; exits caught
	// up and probes re-run show up within it.
	time.Sleep(8 * time.Second)
	seen := w.all()
	for _, ev := range seen {
		if prev := before[ev.Pod.Name]; prev != nil && unchanging(ev.Pod.Name) {
			if diff := statusDiff(prev, ev.Pod); diff != "" {
				t.Errorf("after %v, %s update of pod %s changed (R94): %s\nbefore:\n%snow:\n%s",
					sig, ev.Type, ev.Pod.Name, diff, describe(prev), describe(ev.Pod))
			}
		}
	}
	after := listPods(t, c)
	for name, prev := range before {
		if !unchanging(name) {
			continue
		}
		if diff := statusDiff(prev, after[name]); diff != "" {
			t.Errorf("after %v, pod %s changed (R94): %s", sig, name, diff)
		}
	}
	return w
}

// statusDiff names what differs between two versions of a running pod.
func statusDiff(prev, now *corev1.Pod) string {
	if now == nil {
		return "pod is gone"
	}
	var diffs []string
	if prev.Status.Phase != now.Status.Phase {
		diffs = append(diffs, fmt.Sprintf("phase %s -> %s", prev.Status.Phase, now.Status.Phase))
	}
	if isReady(prev) != isReady(now) {
		diffs = append(diffs, fmt.Sprintf("Ready condition %v -> %v", isReady(prev), isReady(now)))
	}
	for _, ps := range allStatuses(prev) {
		ns := harness.ContainerStatus(now, ps.Name)
		switch {
		case ns == nil:
			diffs = append(diffs, ps.Name+" status missing")
		case ns.ContainerID != ps.ContainerID || ns.RestartCount != ps.RestartCount:
			diffs = append(diffs, fmt.Sprintf("%s restarted: %s/%d -> %s/%d", ps.Name,
				ps.ContainerID, ps.RestartCount, ns.ContainerID, ns.RestartCount))
		case ns.Ready != ps.Ready || started(ns) != started(&ps):
			diffs = append(diffs, fmt.Sprintf("%s ready/started %v/%v -> %v/%v", ps.Name,
				ps.Ready, started(&ps), ns.Ready, started(ns)))
		case harness.StateString(ns.State) != harness.StateString(ps.State):
			diffs = append(diffs, fmt.Sprintf("%s state %s -> %s", ps.Name,
				harness.StateString(ps.State), harness.StateString(ns.State)))
		}
	}
	return strings.Join(diffs, "; ")
}

// checkCaughtUp: the exit that happened while podrund was down counts as
// if podrund had been there: restartCount +1, lastState the exit (R86).
func checkCaughtUp(t *testing.T, c *harness.Client, prev *corev1.Pod) {
	t.Helper()
	var p *corev1.Pod
	harness.Eventually(t, time.Minute, harness.Check(func() string { return describe(p) }, func() bool {
		p = c.GetPod("exit-while-down")
		return restartsOf(p, "app") == restartsOf(prev, "app")+1
	}))
	last := harness.ContainerStatus(p, "app").LastTerminationState.Terminated
	if last == nil || last.ExitCode != 1 || last.ContainerID != harness.ContainerStatus(prev, "app").ContainerID {
		t.Errorf("exit while podrund was down: lastState %+v, want exit 1 of %s", last, harness.ContainerStatus(prev, "app").ContainerID)
	}
}

// checkBackoffKept: the crash-looping container's next restart after
// re-adoption waits out its back-off from the last exit (R35): with
// restartCount r the back-off is 10 s * 2^(r-1).
func checkBackoffKept(t *testing.T, prev *corev1.Pod, w *nsWatch) {
	t.Helper()
	ps := harness.ContainerStatus(prev, "app")
	backoff := min(10*time.Second<<(ps.RestartCount-1), 300*time.Second)
	finished := ps.LastTerminationState.Terminated.FinishedAt.Time
	var next *corev1.Pod
	harness.Eventually(t, backoff+time.Minute, harness.Check(func() string { return "crash-looping container never restarted: " + describe(c0(w)) }, func() bool {
		for _, ev := range w.all() {
			if ev.Pod.Name == "crashloop" && restartsOf(ev.Pod, "app") > ps.RestartCount {
				next = ev.Pod
				return true
			}
		}
		return false
	}))
	s := harness.ContainerStatus(next, "app")
	if s.RestartCount != ps.RestartCount+1 {
		t.Errorf("crash-looping container: restartCount %d -> %d at once", ps.RestartCount, s.RestartCount)
	}
	var startedAt time.Time
	switch {
	case s.State.Running != nil:
		startedAt = s.State.Running.StartedAt.Time
	case s.State.Terminated != nil:
		startedAt = s.State.Terminated.StartedAt.Time
	case s.LastTerminationState.Terminated != nil:
		startedAt = s.LastTerminationState.Terminated.StartedAt.Time
	}
	// Timestamps are whole seconds: allow one second of rounding.
	if startedAt.Sub(finished) < backoff-time.Second {
		t.Errorf("crash-looping container restarted %v after its exit, before its back-off of %v ended (R35): %s",
			startedAt.Sub(finished), backoff, describe(next))
	}
}

// c0 is the newest crashloop update a watch saw.
func c0(w *nsWatch) *corev1.Pod {
	var p *corev1.Pod
	for _, ev := range w.all() {
		if ev.Pod.Name == "crashloop" {
			p = ev.Pod
		}
	}
	return p
}

// checkJobOnce: the Job completed exactly once, with one pod.
func checkJobOnce(t *testing.T, c *harness.Client) {
	t.Helper()
	var job batchv1.Job
	harness.Eventually(t, time.Minute, harness.Check(func() string { return fmt.Sprintf("job status %+v", job.Status) }, func() bool {
		code, body := c.REST(http.MethodGet, "/apis/batch/v1/namespaces/"+c.NS+"/jobs/job1", "", nil)
		if code != http.StatusOK || json.Unmarshal(body, &job) != nil {
			t.Fatalf("get job: HTTP %d %s", code, body)
		}
		return job.Status.Succeeded > 0 || job.Status.Failed > 0
	}))
	if job.Status.Succeeded != 1 || job.Status.Failed != 0 {
		t.Errorf("job: succeeded %d failed %d, want 1/0", job.Status.Succeeded, job.Status.Failed)
	}
	var jobPods []string
	for name, p := range listPods(t, c) {
		if strings.HasPrefix(name, "job1-") {
			jobPods = append(jobPods, name+"="+string(p.Status.Phase))
		}
	}
	if len(jobPods) != 1 || !strings.HasSuffix(jobPods[0], "=Succeeded") {
		t.Errorf("job pods %v, want exactly one Succeeded", jobPods)
	}
}

// deleteAllAndCheckShims deletes every pod of the test and waits for the
// shims of d's containerd namespace to exit; a shim that stays names its
// container and what podrund logged about it.
func deleteAllAndCheckShims(t *testing.T, c *harness.Client, d *harness.Podrund) {
	t.Helper()
	for name := range listPods(t, c) {
		c.MustPodctl("delete", "pod", name, "--grace-period", "1", "--wait=true")
	}
	var shims []harness.Process
	harness.Eventually(t, 30*time.Second, harness.Check(func() string {
		var b strings.Builder
		for _, p := range shims {
			fmt.Fprintf(&b, "shim left after every pod was deleted: %s\n", p)
			fields := strings.Fields(p.Cmdline)
			for i, f := range fields {
				if f == "-id" && i+1 < len(fields) {
					log, _ := os.ReadFile(d.LogPath)
					for _, line := range strings.Split(string(log), "\n") {
						if strings.Contains(line, fields[i+1]) {
							fmt.Fprintf(&b, "  %s\n", line)
						}
					}
				}
			}
		}
		return b.String()
	}, func() bool {
		shims = shims[:0]
		for _, p := range harness.ProcessesMentioning(env.Base) {
			if strings.Contains(p.Cmdline, "containerd-shim") && strings.Contains(p.Cmdline, " -namespace "+d.Namespace+" ") {
				shims = append(shims, p)
			}
		}
		return len(shims) == 0
	}))
}
