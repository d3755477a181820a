package ops

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/integration/harness"
)

// describeUntil polls podctl describe pod until its output contains want.
func describeUntil(t *testing.T, c *harness.Client, pod, want string, timeout time.Duration) string {
	t.Helper()
	var out string
	harness.Eventually(t, timeout, func() string {
		if out = c.MustPodctl("describe", "pod", pod); strings.Contains(out, want) {
			return ""
		}
		return fmt.Sprintf("describe pod %s never showed %q; last:\n%s", pod, want, out)
	})
	return out
}

func waitingSection(describe string) string {
	i := strings.Index(describe, "Waiting for:")
	if i < 0 {
		return ""
	}
	s := describe[i:]
	if j := strings.Index(s, "\nEvents:"); j >= 0 {
		s = s[:j]
	}
	return s
}

func timeline(t *testing.T, c *harness.Client, pod string) *api.PodTimeline {
	t.Helper()
	var tl api.PodTimeline
	out := c.MustPodctl("timeline", pod, "-o", "json")
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatalf("timeline -o json: %v\n%s", err, out)
	}
	return &tl
}

// row finds the drawn row of an instance ("proxy (sidecar) #0 |...| result").
func row(t *testing.T, drawing, label string) (bar, result string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +\|([^|]*)\| ?(.*)$`)
	m := re.FindStringSubmatch(drawing)
	if m == nil {
		t.Fatalf("no row %q in:\n%s", label, drawing)
	}
	return m[1], m[2]
}

// A pod initializing behind its sidecar's startup probe says so, with the
// failure count and the next probe; once the probe passes the section
// goes, the pod runs, and the timeline shows proxy started before app.
func TestWaitingForSidecarStartupProbeThenRunning(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(sidecarPod)
	out := describeUntil(t, c, "gated", "sidecar proxy: startup probe failing (", time.Minute)
	w := waitingSection(out)
	if !regexp.MustCompile(`sidecar proxy: startup probe failing \(\d+/60\), next probe in \d+s`).MatchString(w) ||
		strings.Contains(w, "container app") {
		t.Fatalf("Waiting for (app must not be listed: it waits behind proxy, R19):\n%s", w)
	}
	c.WaitFor("gated", "Ready", 90*time.Second, func(p *corev1.Pod) bool {
		for _, cd := range p.Status.Conditions {
			if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	if out := c.MustPodctl("describe", "pod", "gated"); strings.Contains(out, "Waiting for:") {
		t.Fatalf("a ready pod waits for nothing:\n%s", out)
	}
	tl := timeline(t, c, "gated")
	if len(tl.Instances) != 2 || tl.Instances[0].Container != "proxy" || tl.Instances[1].Container != "app" ||
		tl.Instances[0].StartedAt == nil || tl.Instances[1].StartedAt == nil || tl.Instances[0].ReadyAt == nil ||
		!tl.Instances[1].StartedAt.After(*tl.Instances[0].ReadyAt) && !tl.Instances[1].StartedAt.Equal(*tl.Instances[0].ReadyAt) {
		t.Fatalf("timeline: %+v", tl.Instances)
	}
	// As a person sees it: in an 80-column pty, proxy's row starts left of app's.
	s := screen(t, c, 80, 20, "timeline", "gated")
	pb, pres := row(t, s, "proxy (sidecar) #0")
	ab, ares := row(t, s, "app #0")
	first := func(bar string) int { return len(bar) - len(strings.TrimLeft(bar, " ")) }
	if first(pb) >= first(ab) || !strings.Contains(pb, "R") || pres != "running" || ares != "running" ||
		!strings.HasSuffix(pb, ">") {
		t.Fatalf("timeline screen:\n%s", s)
	}
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 80 {
			t.Fatalf("line wider than the pane: %q", l)
		}
	}
}

// An init container crash-looping is the one blocker, with the time to
// its next start; the timeline shows each failed run and the back-off.
func TestWaitingForInitCrashLoop(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(crashPod)
	out := describeUntil(t, c, "crashy", "init container migrate: CrashLoopBackOff, next start in", 90*time.Second)
	w := waitingSection(out)
	if !regexp.MustCompile(`init container migrate: CrashLoopBackOff, next start in \d+s \(last exit code 3\)`).MatchString(w) ||
		strings.Count(w, "\n") != 1 {
		t.Fatalf("Waiting for:\n%s", w)
	}
	tl := timeline(t, c, "crashy")
	var runs int
	backoff := false
	for _, in := range tl.Instances {
		if in.Container == "app" {
			t.Fatalf("app ran behind a failing init container: %+v", in)
		}
		if in.ExitCode != nil && *in.ExitCode == 3 {
			runs++
		}
		backoff = backoff || in.BackoffUntil != nil
	}
	if runs < 2 || !backoff {
		t.Fatalf("timeline: %d failed runs, back-off %v: %+v", runs, backoff, tl.Instances)
	}
	// As a person sees describe in a terminal: the section and its line.
	d := screen(t, c, 120, 100, "describe", "pod", "crashy")
	if !regexp.MustCompile(`(?m)^Waiting for:\n  init container migrate: CrashLoopBackOff, next start in \d+s \(last exit code 3\)$`).MatchString(d) {
		t.Fatalf("describe screen:\n%s", d)
	}
	s := screen(t, c, 100, 20, "timeline", "crashy")
	t.Logf("timeline as shown in a 100-column terminal:\n%s\n%s", s, waitingSection(d))
	if bar, res := row(t, s, "migrate (init) #1"); !strings.Contains(bar, "X~") || res != "exit 3" {
		t.Fatalf("timeline screen:\n%s", s)
	}
}

// While terminating, the sidecar that ignores SIGTERM is what the pod
// waits for, with the grace left; the timeline shows app stopped first.
func TestWaitingForTerminatingSidecar(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(shutdownPod)
	c.WaitFor("stopping", "Running", time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	// Running means the processes run, not that their shells have set their
	// TERM traps (R17: a sidecar is started once its process runs): a TERM
	// before app's trap is lost (sh is PID 1 of its PID namespace and has no
	// handler yet), and app would hold the pod until its grace ends.
	for _, name := range []string{"log-shipper", "app"} {
		harness.Eventually(t, 30*time.Second, func() string {
			if strings.Contains(c.Logs("stopping", name), "trapped") {
				return ""
			}
			return name + " never set its TERM trap"
		})
	}
	w := c.Watch("stopping")
	c.MustPodctl("delete", "pod", "stopping", "--wait=false")
	// app stops within a second of SIGTERM; then only the sidecar, which
	// ignores it, holds the pod until its grace ends (R64: sidecars last).
	var sec string
	deadline := time.Now().Add(12 * time.Second)
	harness.Eventually(t, time.Until(deadline), func() string {
		sec = waitingSection(c.MustPodctl("describe", "pod", "stopping"))
		if strings.Contains(sec, "sidecar log-shipper") && !strings.Contains(sec, "container app") {
			return ""
		}
		return "Waiting for never came down to the sidecar:\n" + sec
	})
	m := regexp.MustCompile(`terminating: waiting for sidecar log-shipper \(grace (\d+)s left\)`).FindStringSubmatch(sec)
	if m == nil || m[1] == "0" || strings.Count(sec, "\n") != 1 {
		t.Fatalf("Waiting for:\n%s", sec)
	}
	var ship, app *api.TimelineInstance
	harness.Eventually(t, time.Until(deadline), func() string {
		tl := timeline(t, c, "stopping")
		for i := range tl.Instances {
			switch tl.Instances[i].Container {
			case "log-shipper":
				ship = &tl.Instances[i]
			case "app":
				app = &tl.Instances[i]
			}
		}
		if ship == nil || ship.KilledAt == nil {
			return fmt.Sprintf("no kill mark for the sidecar: %+v", ship)
		}
		return ""
	})
	if app == nil || app.FinishedAt == nil || app.KilledAt == nil || ship.FinishedAt != nil || ship.KilledAt.Before(*app.FinishedAt) {
		t.Fatalf("timeline while the sidecar holds on (its stop signal must follow app's exit): app=%+v ship=%+v", app, ship)
	}
	s := screen(t, c, 100, 20, "timeline", "stopping")
	t.Logf("timeline as shown in a 100-column terminal:\n%s\n%s", s, sec)
	if _, res := row(t, s, "log-shipper (sidecar) #0"); res != "stopping" {
		t.Fatalf("timeline screen:\n%s", s)
	}
	if _, res := row(t, s, "app #0"); !strings.HasPrefix(res, "exit 0") {
		t.Fatalf("timeline screen:\n%s", s)
	}
	w.UntilDeleted(time.Minute)
}

var job = harness.JobManifest("once", "  backoffLimit: 0\n", harness.Pod{RestartPolicy: "Never", NoSharedDir: true,
	Containers: []harness.Container{{Name: "main", Command: harness.Sh("echo done")}}}, "")

// A completed Job pod waits for nothing and its timeline is final: the
// drawing in a 100-column pty is exactly podctl's piped output at width 100.
func TestCompletedJobPod(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(job)
	defer c.MustPodctl("delete", "job", "once", "--wait=true")
	var name string
	harness.Eventually(t, 2*time.Minute, func() string {
		for _, p := range c.GetPods() {
			if strings.HasPrefix(p.Name, "once") && p.Status.Phase == corev1.PodSucceeded {
				name = p.Name
			}
		}
		if name != "" {
			return ""
		}
		return "no succeeded pod of job once:\n" + c.MustPodctl("get", "pods")
	})
	if out := c.MustPodctl("describe", "pod", name); strings.Contains(out, "Waiting for:") {
		t.Fatalf("completed pod:\n%s", out)
	}
	if out := c.MustPodctl("describe", "job", "once"); strings.Contains(out, "Waiting for:") {
		t.Fatalf("completed job:\n%s", out)
	}
	tl := timeline(t, c, name)
	if len(tl.Instances) != 1 || tl.Instances[0].ExitCode == nil || *tl.Instances[0].ExitCode != 0 {
		t.Fatalf("timeline: %+v", tl.Instances)
	}
	piped := trimLines(c.MustPodctl("timeline", name, "--width", "100"))
	s := screen(t, c, 100, 20, "timeline", name)
	if s != piped {
		t.Fatalf("pty screen differs from the drawing at width 100:\n%s\n--- want\n%s", s, piped)
	}
	if _, res := row(t, s, "main #0"); res != "exit 0" {
		t.Fatalf("timeline screen:\n%s", s)
	}
}

// top shows every running container of a pod with non-zero memory read
// from its cgroup.
func TestTopPod(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(strings.ReplaceAll(sidecarPod, "sleep 8; ", ""))
	c.WaitFor("gated", "Running", time.Minute, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	out := c.MustPodctl("top", "pod", "gated")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "POD NAME CPU(cores) MEMORY(bytes)" {
		t.Fatalf("top:\n%s", out)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "gated" || !strings.HasSuffix(f[2], "m") || f[3] == "0" {
			t.Fatalf("top row %q in:\n%s", l, out)
		}
		seen[f[1]] = true
	}
	if !seen["proxy"] || !seen["app"] {
		t.Fatalf("top:\n%s", out)
	}
	var st []api.PodStats
	if err := json.Unmarshal([]byte(c.MustPodctl("top", "pod", "gated", "-o", "json")), &st); err != nil ||
		len(st) != 1 || len(st[0].Containers) != 2 || st[0].Containers[0].MemoryBytes == 0 || st[0].Containers[0].CPUUsageNanos == 0 {
		t.Fatalf("top -o json: %v %+v", err, st)
	}
}

// The pods of the waiting-section tests.
var (
	// gated's app waits for its sidecar proxy's startup probe, which
	// passes 8 s after the proxy starts.
	sidecarPod = harness.Pod{Name: "gated", Grace: 2, NoSharedDir: true,
		Inits: []harness.Container{{Name: "proxy", Sidecar: true,
			Command: harness.Sh("trap 'exit 0' TERM; sleep 8; touch /tmp/up; while true; do sleep 1; done"),
			Extra:   "    startupProbe:\n      exec:\n        command: [\"test\", \"-f\", \"/tmp/up\"]\n      periodSeconds: 1\n      failureThreshold: 60\n"}},
		Containers: []harness.Container{{Name: "app", Command: harness.Sh("trap 'exit 0' TERM; while true; do sleep 1; done")}},
	}.YAML("")
	// crashy's init container fails every run.
	crashPod = harness.Pod{Name: "crashy", Grace: 1, NoSharedDir: true,
		Inits:      []harness.Container{{Name: "migrate", Command: harness.Sh("exit 3")}},
		Containers: []harness.Container{{Name: "app", Command: []string{"sleep", "3600"}}},
	}.YAML("")
	// stopping's sidecar ignores SIGTERM; its app stops at once.
	shutdownPod = harness.Pod{Name: "stopping", Grace: 15, NoSharedDir: true,
		Inits:      []harness.Container{{Name: "log-shipper", Sidecar: true, Command: harness.Sh("trap '' TERM; echo trapped; while true; do sleep 1; done")}},
		Containers: []harness.Container{{Name: "app", Command: harness.Sh("trap 'exit 0' TERM; echo trapped; while true; do sleep 1; done")}},
	}.YAML("")
)
