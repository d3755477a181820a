package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// Container restart rules (docs/semantics.md §Y R100–R108)
// through podctl against the real containerd. Each manifest below is one a
// v1.36 API server accepts; before ContainerRestartRules podrund refused
// them all ("may not be set for non-init containers").

// runs is a container command that exits with codes[k] on its k-th run
// (the last code on every later run): a counter file in /shared outlives
// the container, so a restart is told apart from a first start.
func runs(name string, codes ...int) []string {
	sh := harness.OrderMark(name, "Starting") + "; n=$(cat /shared/" + name + ".runs 2>/dev/null || echo 0); " +
		"echo $((n+1)) > /shared/" + name + ".runs; "
	for k, code := range codes[:len(codes)-1] {
		sh += fmt.Sprintf("[ $n -eq %d ] && exit %d; ", k, code)
	}
	return []string{"sh", "-c", sh + fmt.Sprintf("exit %d", codes[len(codes)-1])}
}

// neverPhase fails the test when the watch saw the pod in phase ph.
func neverPhase(t *testing.T, w *harness.PodWatch, ph corev1.PodPhase) {
	t.Helper()
	for _, ev := range w.History() {
		if ev.Pod.Status.Phase == ph {
			t.Errorf("pod was %s on the way: %s", ph, harness.Describe(ev.Pod))
			return
		}
	}
}

// TestContainerRestartPolicy_R101: under pod restartPolicy Never a
// container's own Always restarts it after a successful exit (the pod
// stays Running), and its own OnFailure restarts it after a failure only.
func TestContainerRestartPolicy_R101(t *testing.T) {
	t.Parallel()
	t.Run("Always", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "own-always", RestartPolicy: "Never", Grace: 2,
			Containers: []harness.Container{{Name: "app", Command: runs("app", 0),
				Extra: "    restartPolicy: Always\n"}}}
		w := c.Watch("own-always")
		c.Apply(ps.YAML(c.HostDir))
		p := w.UntilPod("app restarted after exit 0", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			t.Errorf("phase %s while app restarts, want Running: %s", p.Status.Phase, harness.Describe(p))
		}
		if s := status(p, "app"); s.LastTerminationState.Terminated == nil || s.LastTerminationState.Terminated.ExitCode != 0 {
			t.Errorf("lastState %s, want Terminated exit 0", harness.StateString(s.LastTerminationState))
		}
		neverPhase(t, w, corev1.PodSucceeded)
		neverPhase(t, w, corev1.PodFailed)
	})
	t.Run("OnFailure", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "own-onfailure", RestartPolicy: "Never", Grace: 2,
			Containers: []harness.Container{{Name: "app", Command: runs("app", 1, 0),
				Extra: "    restartPolicy: OnFailure\n"}}}
		w := c.Watch("own-onfailure")
		c.Apply(ps.YAML(c.HostDir))
		p := w.UntilPod("Succeeded", 60*time.Second, phaseIs(corev1.PodSucceeded))
		if restarts(p, "app") != 1 {
			t.Errorf("app restarts %d, want 1 (exit 1 restarts, exit 0 completes): %s", restarts(p, "app"), harness.Describe(p))
		}
		neverPhase(t, w, corev1.PodFailed)
	})
}

// TestRestartPolicyRules_R101: a rule restarting on exit code 42 only,
// under pod and container restartPolicy Never: the container exits 42 and
// is restarted at once, exits 42 again and is restarted after the 10 s
// back-off (R107) while the pod stays Running (R104), then exits 1 and is
// not restarted; the pod ends Failed with that 1.
func TestRestartPolicyRules_R101(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "rule42", RestartPolicy: "Never", Grace: 2,
		Containers: []harness.Container{{Name: "app", Command: runs("app", 42, 42, 1), Extra: `    restartPolicy: Never
    restartPolicyRules:
    - action: Restart
      exitCodes:
        operator: In
        values: [42]
`}}}
	w := c.Watch("rule42")
	c.Apply(ps.YAML(c.HostDir))
	p := w.UntilPod("Failed", 60*time.Second, phaseIs(corev1.PodFailed))
	s := status(p, "app")
	if s.RestartCount != 2 {
		t.Errorf("app restarts %d, want 2: %s", s.RestartCount, harness.Describe(p))
	}
	if tm := s.State.Terminated; tm == nil || tm.ExitCode != 1 {
		t.Errorf("app final state %s, want Terminated exit 1", harness.StateString(s.State))
	}
	if lt := s.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 42 {
		t.Errorf("app lastState %s, want Terminated exit 42", harness.StateString(s.LastTerminationState))
	}
	if o := c.ReadOrder("rule42"); o.Count("app", "Starting") != 3 {
		t.Errorf("app started %d times, want 3:\n%s", o.Count("app", "Starting"), o)
	}
	backoff := false
	for _, ev := range w.History() {
		if ws := status(ev.Pod, "app"); ws != nil && ws.State.Waiting != nil && ws.State.Waiting.Reason == "CrashLoopBackOff" {
			backoff = true
			if ev.Pod.Status.Phase != corev1.PodRunning {
				t.Errorf("phase %s in back-off after exit 42, want Running: %s", ev.Pod.Status.Phase, harness.Describe(ev.Pod))
			}
		}
	}
	if !backoff {
		t.Errorf("the second restart did not wait in CrashLoopBackOff")
	}
	neverPhase(t, w, corev1.PodSucceeded)
}

// TestInitContainerRestartPolicy_R102: an init container with its own
// restartPolicy OnFailure under pod Never is retried after a failure (the
// pod stays Pending, not Failed) and the pod then runs to Succeeded; an
// init container with its own Never under pod Always fails the pod.
func TestInitContainerRestartPolicy_R102(t *testing.T) {
	t.Parallel()
	t.Run("OnFailure-under-Never", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "init-onfailure", RestartPolicy: "Never", Grace: 2,
			Inits: []harness.Container{{Name: "init", Command: runs("init", 3, 0),
				Extra: "    restartPolicy: OnFailure\n"}},
			Containers: []harness.Container{script{Name: "app"}.container()}}
		w := c.Watch("init-onfailure")
		c.Apply(ps.YAML(c.HostDir))
		p := w.UntilPod("Succeeded", 60*time.Second, phaseIs(corev1.PodSucceeded))
		if restarts(p, "init") != 1 || restarts(p, "app") != 0 {
			t.Errorf("restarts init %d app %d, want 1 and 0: %s", restarts(p, "init"), restarts(p, "app"), harness.Describe(p))
		}
		neverPhase(t, w, corev1.PodFailed)
		lines := c.ReadOrder("init-onfailure")
		harness.ExpectOrder(t, lines, "init Starting", "init Starting", "app Starting")
	})
	t.Run("Never-under-Always", func(t *testing.T) {
		t.Parallel()
		c := env.Client(t)
		ps := harness.Pod{Name: "init-never", Grace: 2,
			Inits: []harness.Container{{Name: "init", Command: runs("init", 3, 0),
				Extra: "    restartPolicy: Never\n"}},
			Containers: []harness.Container{script{Name: "app", Forever: true}.container()}}
		c.Apply(ps.YAML(c.HostDir))
		p := c.WaitFor("init-never", "Failed", 60*time.Second, phaseIs(corev1.PodFailed))
		if restarts(p, "init") != 0 {
			t.Errorf("init restarted under its own Never: %s", harness.Describe(p))
		}
		if o := c.ReadOrder("init-never"); o.Count("app", "Starting") != 0 {
			t.Errorf("app started after a failed init:\n%s", o)
		}
	})
}

// TestRestartRulesRefused_R100: rules on a sidecar are taken as the v1.37
// API server takes them; RestartAllContainers, valid there, is refused as
// a field podrun does not run, with its path.
func TestRestartRulesRefused_R100(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "refused", RestartPolicy: "Never",
		Inits: []harness.Container{{Name: "side", Sidecar: true, Command: []string{"sleep", "9"}, Extra: `    restartPolicyRules:
    - action: Restart
      exitCodes: {operator: In, values: [1]}
`}},
		Containers: []harness.Container{{Name: "app", Command: []string{"true"}, Extra: `    restartPolicy: Never
    restartPolicyRules:
    - action: RestartAllContainers
      exitCodes: {operator: In, values: [1]}
`}}}
	code, body := c.REST(http.MethodPost, c.PodPath(""), "application/yaml", strings.NewReader(ps.YAML(c.HostDir)))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("create: HTTP %d, want 422: %s", code, body)
	}
	if want := `spec.containers[0].restartPolicyRules[0].action: Forbidden: not supported by podrun`; !strings.Contains(string(body), want) {
		t.Errorf("Status lacks %q:\n%s", want, body)
	}
	if strings.Contains(string(body), "initContainers[0]") {
		t.Errorf("the sidecar's rules were refused:\n%s", body)
	}
	if code, body := c.REST(http.MethodGet, c.PodPath("refused"), "", nil); code != http.StatusNotFound {
		t.Errorf("refused pod: GET gives HTTP %d, want 404: %s", code, body)
	}
}
