package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/integration/harness"
)

// Every seed example runs as written; each test checks what the file's
// comment says Kubernetes does.

func TestSeed04LogFileSidecar(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "04-log-file-sidecar.yaml"))
	c.WaitFor("logger", "Running", 60*time.Second, phaseIs(corev1.PodRunning))
	logsUntil(t, c, "logger", "sidecar-container", "Hello World", 2, 30*time.Second)
}

func TestSeed05HTTPSidecarLocalhost(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "05-http-sidecar-localhost.yaml"))
	c.WaitFor("http-logger", "Running", 60*time.Second, phaseIs(corev1.PodRunning))
	// The sidecar reaches the app on localhost: one network namespace per pod (R11, docs/contract.md §4).
	logsUntil(t, c, "http-logger", "sidecar-container", `{"logs": "Hello World"}`, 1, 30*time.Second)
}

// TestSeed06OrderStartAndStop: start first-sidecar → second-sidecar → app;
// on delete app exits first, then second-sidecar ~3 s later, then
// first-sidecar ~3 s after that (R63).
func TestSeed06OrderStartAndStop(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	w := c.Watch("order")
	c.ApplyFile(seed(t, "06-order-start-and-stop.yaml"))
	w.UntilPod("Running and Ready", 60*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
	})
	checkInitOrder(t, w.History(), []string{"first-sidecar", "second-sidecar", "app"})
	running := c.GetPod("order")
	s1, s2, a := status(running, "first-sidecar"), status(running, "second-sidecar"), status(running, "app")
	if s1.State.Running.StartedAt.After(s2.State.Running.StartedAt.Time) || s2.State.Running.StartedAt.After(a.State.Running.StartedAt.Time) {
		t.Errorf("startedAt not in order first-sidecar ≤ second-sidecar ≤ app: %v %v %v",
			s1.State.Running.StartedAt, s2.State.Running.StartedAt, a.State.Running.StartedAt)
	}

	// The seed's shells set their TERM traps first thing, but Running comes
	// before that (R17): without the traps the TERMs would be lost and the
	// containers SIGKILLed at the grace's end.
	waitTrapped(c, "order", "first-sidecar", "second-sidecar", "app")
	start := time.Now()
	final := c.DeleteAndWait("order")
	took := time.Since(start)
	for _, s := range stoppedInReverse(t, "final object", final) {
		if s.ExitCode != 0 {
			t.Errorf("exit code %d, want 0 (trapped TERM)", s.ExitCode)
		}
	}
	if final.Status.Phase != corev1.PodSucceeded {
		t.Errorf("final phase %s, want Succeeded (R69)", final.Status.Phase)
	}
	if took > 25*time.Second {
		t.Errorf("delete took %v; containers exit ~9s after TERM in sequence", took)
	}
}

// stoppedInReverse wants the seeds' app, second-sidecar and first-sidecar
// terminated in final, each sidecar finished ~3 s (the 3 s its TERM trap
// sleeps) after the container before it: stopped in reverse order (R63).
// It returns their states in that order.
func stoppedInReverse(t *testing.T, what string, final *corev1.Pod) []*corev1.ContainerStateTerminated {
	t.Helper()
	fa, f2, f1 := terminated(final, "app"), terminated(final, "second-sidecar"), terminated(final, "first-sidecar")
	if fa == nil || f2 == nil || f1 == nil {
		t.Fatalf("%s lacks terminated states: %s", what, harness.Describe(final))
	}
	// finishedAt has second resolution.
	if d := f2.FinishedAt.Sub(fa.FinishedAt.Time); d < 2*time.Second {
		t.Errorf("second-sidecar finished %v after app, want ~3s (R63 reverse order)", d)
	}
	if d := f1.FinishedAt.Sub(f2.FinishedAt.Time); d < 2*time.Second {
		t.Errorf("first-sidecar finished %v after second-sidecar, want ~3s", d)
	}
	return []*corev1.ContainerStateTerminated{fa, f2, f1}
}

// TestSeed07AppExitsSidecarsFollow: Job-style completion (R72-R73).
func TestSeed07AppExitsSidecarsFollow(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	w := c.Watch("app-exits")
	c.ApplyFile(seed(t, "07-app-exits-sidecars-follow.yaml"))
	c.MustPodctl("wait", "pod", "app-exits", "--for=jsonpath={.status.phase}=Succeeded", "--timeout", "90s")
	final := w.UntilPod("phase Succeeded", 10*time.Second, phaseIs(corev1.PodSucceeded))
	stoppedInReverse(t, "statuses at Succeeded", final)
	// R73: while the sidecars were being stopped the phase stayed Running.
	sawRunningAfterAppExit := false
	for _, ev := range w.History() {
		if terminated(ev.Pod, "app") != nil && ev.Pod.Status.Phase == corev1.PodRunning {
			sawRunningAfterAppExit = true
		}
		if ev.Pod.Status.Phase == corev1.PodSucceeded && (running(ev.Pod, "first-sidecar") || running(ev.Pod, "second-sidecar")) {
			t.Errorf("phase Succeeded while a sidecar still runs: %s", harness.Describe(ev.Pod))
		}
	}
	if !sawRunningAfterAppExit {
		t.Error("R73: never saw phase Running between the app's exit and the sidecars' stop")
	}
	if out := c.Logs("app-exits", "app"); !strings.Contains(out, "app") {
		t.Errorf("app log %q", out)
	}
	c.WantPodsRow("R92", "app-exits", "0/3", "Completed")
}

// TestSeed08SidecarLivenessFails: the sidecar is killed and restarted again
// and again; the app keeps running (R19, R47).
func TestSeed08SidecarLivenessFails(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	w := c.Watch("sidecar-liveness")
	c.ApplyFile(seed(t, "08-sidecar-liveness-fails.yaml"))
	// restarts: 1st immediate, 2nd after 10 s back-off (R35).
	p := w.UntilPod("sidecar restartCount >= 2", 90*time.Second, func(p *corev1.Pod) bool { return restarts(p, "sidecar") >= 2 })
	if restarts(p, "app") != 0 {
		t.Errorf("app restarted %d times; only the sidecar should", restarts(p, "app"))
	}
	for _, ev := range w.History() {
		if restarts(ev.Pod, "sidecar") >= 1 {
			if c := harness.PodCondition(ev.Pod, corev1.PodInitialized); c != nil && c.Status != corev1.ConditionTrue && running(ev.Pod, "app") {
				t.Errorf("R82/X14: Initialized=%s while the sidecar restarts and the app runs", c.Status)
			}
		}
	}
	c.WaitEvent(harness.EventFilter{Object: "sidecar-liveness", Reason: "Unhealthy", Message: "Liveness probe failed"}, 10*time.Second)
	c.WaitEvent(harness.EventFilter{Object: "sidecar-liveness", Reason: "Killing", Message: "sidecar"}, 10*time.Second)
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", p.Status.Phase)
	}
}

// TestSeed09SidecarReadinessFails: the pod never becomes Ready, nothing restarts (R48).
func TestSeed09SidecarReadinessFails(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "09-sidecar-readiness-fails.yaml"))
	c.WaitFor("sidecar-readiness", "app running", 60*time.Second, func(p *corev1.Pod) bool { return running(p, "app") })
	// Several failed readiness probes later (period 1 s) nothing has restarted.
	unready := harness.EventFilter{Object: "sidecar-readiness", Reason: "Unhealthy", Message: "Readiness probe failed"}
	ev := c.WaitEvent(unready, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for ev.Count < 3 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		ev = c.WaitEvent(unready, 5*time.Second)
	}
	p := c.GetPod("sidecar-readiness")
	for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		cd := harness.PodCondition(p, ct)
		if cd == nil || cd.Status != corev1.ConditionFalse || cd.Reason != "ContainersNotReady" || !strings.Contains(cd.Message, "sidecar") {
			t.Errorf("condition %s = %+v, want False ContainersNotReady naming sidecar (R82)", ct, cd)
		}
	}
	if restarts(p, "sidecar") != 0 || restarts(p, "app") != 0 {
		t.Errorf("readiness failure restarted something: %s", harness.Describe(p))
	}
	if s := status(p, "sidecar"); s == nil || s.Ready || s.Started == nil || !*s.Started {
		t.Errorf("sidecar status %+v: want started, not ready", s)
	}
	c.WantPodsRow("R91", "sidecar-readiness", "1/2", "Running")
}

// TestSeed10RuntimeFeatureDetection: the native sidecar that exits 0 is
// restarted anyway (R32), and the legacy copy sees it.
func TestSeed10RuntimeFeatureDetection(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "10-runtime-feature-detection.yaml"))
	c.WaitFor("feature-detect", "native-sidecar restarted once and running", 60*time.Second, func(p *corev1.Pod) bool {
		return restarts(p, "native-sidecar") == 1 && running(p, "native-sidecar") && running(p, "app")
	})
	logsUntil(t, c, "feature-detect", "old-way-sidecar", "native sidecars work", 1, 30*time.Second)
	out := c.MustPodctl("exec", "feature-detect", "-c", "old-way-sidecar", "--", "cat", "/shared/state")
	if strings.TrimSpace(out) != "native-running" {
		t.Errorf("/shared/state = %q, want native-running", out)
	}
	p := c.GetPod("feature-detect")
	if restarts(p, "old-way-sidecar") != 0 || restarts(p, "native-sidecar") != 1 || !running(p, "app") {
		t.Errorf("statuses: %s", harness.Describe(p))
	}
	if ls := status(p, "native-sidecar").LastTerminationState.Terminated; ls == nil || ls.ExitCode != 0 {
		t.Errorf("native-sidecar lastState %+v, want Terminated exit 0", ls)
	}
}

// jobPods returns the pods the Job controller created for job: those it
// controls, not any pod labelled with the Job's name. A Job deleted with
// the default Background propagation goes before its pods, so a pod of
// an earlier Job of that name can still be terminating next to the new
// Job's; picked by its label, it showed READY 0/2 Completed once it had
// stopped, although its watched status had just said Running.
func jobPods(t *testing.T, c *harness.Client, job string) []corev1.Pod {
	t.Helper()
	uid := getJob(t, c, job).UID
	var ps []corev1.Pod
	for _, p := range c.GetPods() {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid {
			ps = append(ps, p)
		}
	}
	return ps
}

func getJob(t *testing.T, c *harness.Client, name string) *batchv1.Job {
	t.Helper()
	out := c.MustPodctl("get", "job", name, "-o", "json")
	var j batchv1.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("decode job: %v\n%s", err, out)
	}
	return &j
}

// waitJobPod waits until the Job has a pod and returns its name.
func waitJobPod(t *testing.T, c *harness.Client, job string) string {
	t.Helper()
	var name string
	harness.Eventually(t, 60*time.Second, func() string {
		if ps := jobPods(t, c, job); len(ps) > 0 {
			name = ps[0].Name
			return ""
		}
		return "job " + job + " created no pod"
	})
	return name
}

// TestSeed02JobLegacySidecar: a sidecar as a regular container keeps the Job
// pod running: READY 1/2, NotReady, COMPLETIONS 0/1.
func TestSeed02JobLegacySidecar(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "02-job-legacy-sidecar.yaml"))
	pod := waitJobPod(t, c, "pi")
	p := c.WaitFor(pod, "pi exited 0, sidecar running", 60*time.Second, func(p *corev1.Pod) bool {
		s := terminated(p, "pi")
		return s != nil && s.ExitCode == 0 && running(p, "sidecar")
	})
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", p.Status.Phase)
	}
	if out := c.Logs(pod, "pi"); !strings.Contains(out, "3.14159") {
		t.Errorf("pi log %q", out)
	}
	c.WantPodsRow("R92", pod, "1/2", "NotReady")
	if j := getJob(t, c, "pi"); j.Status.Succeeded != 0 {
		t.Errorf("job succeeded=%d, want 0 while the legacy sidecar runs", j.Status.Succeeded)
	}
	c.MustPodctl("delete", "job", "pi", "--wait=true")
}

// TestSeed03JobNativeSidecar: the native sidecar is stopped when pi exits;
// pod Succeeded (Completed, 0/2), job 1/1 (R72, R-V1).
func TestSeed03JobNativeSidecar(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.ApplyFile(seed(t, "03-job-native-sidecar.yaml"))
	pod := waitJobPod(t, c, "pi-sidecar")
	p := c.WaitFor(pod, "Succeeded", 60*time.Second, phaseIs(corev1.PodSucceeded))
	checkJobStyle(t, c, p, "pi", "network-proxy")
	harness.Eventually(t, 30*time.Second, func() string {
		if st := getJob(t, c, "pi-sidecar").Status; st.Succeeded != 1 {
			return fmt.Sprintf("job pi-sidecar status %+v, want succeeded 1", st)
		}
		return ""
	})
	c.MustPodctl("delete", "job", "pi-sidecar", "--wait=true")
}

// checkJobStyle checks a pod that completed Job-style: app exited 0, the
// sidecar was stopped after it with a Killing event, STATUS Completed.
func checkJobStyle(t *testing.T, c *harness.Client, p *corev1.Pod, app, sidecar string) {
	t.Helper()
	a, s := terminated(p, app), terminated(p, sidecar)
	if a == nil || a.ExitCode != 0 || s == nil {
		t.Fatalf("statuses: %s", harness.Describe(p))
	}
	if s.FinishedAt.Before(&a.FinishedAt) {
		t.Errorf("%s finished before %s", sidecar, app)
	}
	c.WaitEvent(harness.EventFilter{Object: p.Name, Reason: "Killing", Message: "Stopping container " + sidecar}, 10*time.Second)
	c.WantPodsRow("", p.Name, "0/2", "Completed")
}

// The pod templates of seeds 02 and 03 as plain pods (independent of Job
// support): pi prints and exits, the sidecar waits for SIGTERM.
const (
	piScript = "echo 3.14159265358979323846; sleep 1"
	waitTERM = "trap 'exit 0' TERM; while true; do sleep 1; done"
)

func TestSeed02TemplateAsPod(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.Pod{Name: "pi", RestartPolicy: "Never", NoSharedDir: true, Containers: []harness.Container{
		{Name: "pi", Command: harness.Sh(piScript)},
		{Name: "sidecar", Command: harness.Sh(waitTERM)},
	}}.YAML(""))
	p := c.WaitFor("pi", "pi exited 0, sidecar running", 60*time.Second, func(p *corev1.Pod) bool {
		s := terminated(p, "pi")
		return s != nil && s.ExitCode == 0 && running(p, "sidecar")
	})
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", p.Status.Phase)
	}
	c.WantPodsRow("R92, X13", "pi", "1/2", "NotReady")
}

func TestSeed03TemplateAsPod(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.Pod{Name: "pi-sidecar", RestartPolicy: "Never", NoSharedDir: true,
		Inits:      []harness.Container{{Name: "network-proxy", Sidecar: true, Command: harness.Sh(waitTERM)}},
		Containers: []harness.Container{{Name: "pi", Command: harness.Sh(piScript)}},
	}.YAML(""))
	p := c.WaitFor("pi-sidecar", "Succeeded", 60*time.Second, phaseIs(corev1.PodSucceeded))
	checkJobStyle(t, c, p, "pi", "network-proxy")
}
