package integration

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestStartOrder: seed 01's shape, instrumented: plain inits run one after
// the other to completion, the sidecar starts after them and the app only
// once the sidecar runs (R16, R19, R26).
func TestStartOrder(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "start",
		Inits: []harness.Container{script{Name: "i1", Delay: 1}.container(), script{Name: "i2", Delay: 1}.container(),
			script{Name: "side", StartDelay: 1, Forever: true, TrapTerm: true}.sidecar()},
		Containers: []harness.Container{script{Name: "a1", Forever: true, TrapTerm: true}.container(), script{Name: "a2", Forever: true, TrapTerm: true}.container()}}
	w := c.Watch("start")
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("start", "Ready", 60*time.Second, harness.PodReady)
	lines := c.WaitOrder("start", orderWait, "a2 Starting", "side Started")
	// Plain inits run to completion one after the other: their lines show
	// it. The sidecar counts as started once its process runs, before its
	// shell writes (R16, R17), and the apps start within milliseconds of it, so
	// that part of the order is read from the status history instead.
	harness.ExpectOrder(t, lines, "i1 Starting", "i1 Exiting", "i2 Starting", "i2 Exiting", "side Starting")
	checkInitOrder(t, w.History(), []string{"i2", "side", "a1"})
	checkInitOrder(t, w.History(), []string{"side", "a2"})
	for _, n := range []string{"i1", "i2", "side", "a1", "a2"} {
		if k := lines.Count(n, "Starting"); k != 1 {
			t.Errorf("%s started %d times", n, k)
		}
	}
}

// TestRestartMatrixClasses samples the other rows of R31: sidecars restart
// under every policy whatever their exit code; a failing plain init is
// retried except under Never; a regular container failing liveness is
// killed and restarted except under Never.
func TestRestartMatrixClasses(t *testing.T) {
	t.Parallel()
	app := trapApp()
	for _, policy := range []string{"Never", "OnFailure", "Always"} {
		for _, exit := range []int{0, 1} {
			t.Run(fmt.Sprintf("sidecar-exit%d-%s", exit, policy), func(t *testing.T) {
				t.Parallel()
				c := env.Client(t)
				ps := harness.Pod{Name: "m", RestartPolicy: policy,
					Inits:      []harness.Container{script{Name: "side", Delay: 1, ExitCode: exit}.sidecar()},
					Containers: []harness.Container{app}}
				c.Apply(ps.YAML(c.HostDir))
				p := c.WaitFor("m", "sidecar restarted", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "side") >= 1 })
				if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded || restarts(p, "app") != 0 {
					t.Errorf("sidecar exit changed the pod: %s", harness.Describe(p))
				}
			})
		}
		t.Run("init-exit1-"+policy, func(t *testing.T) {
			t.Parallel()
			c := env.Client(t)
			ps := harness.Pod{Name: "m", RestartPolicy: policy, Inits: []harness.Container{script{Name: "init", ExitCode: 1}.container()}, Containers: []harness.Container{app}}
			c.Apply(ps.YAML(c.HostDir))
			if policy == "Never" {
				p := c.WaitFor("m", "Failed", 60*time.Second, phaseIs(corev1.PodFailed))
				if restarts(p, "init") != 0 {
					t.Errorf("init restarted under Never")
				}
				return
			}
			p := c.WaitFor("m", "init restarted", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "init") >= 1 })
			if p.Status.Phase != corev1.PodPending {
				t.Errorf("phase %s, want Pending (R21)", p.Status.Phase)
			}
		})
		t.Run("regular-liveness-"+policy, func(t *testing.T) {
			t.Parallel()
			c := env.Client(t)
			live := "    livenessProbe:\n      exec:\n        command: [\"false\"]\n      periodSeconds: 1\n      failureThreshold: 1\n"
			ps := harness.Pod{Name: "m", RestartPolicy: policy, Grace: 2,
				Containers: []harness.Container{withExtra(script{Name: "app", Forever: true, TrapTerm: true, TermExit: 1}.container(), live)}}
			w := c.Watch("m")
			c.Apply(ps.YAML(c.HostDir))
			if policy == "Never" {
				p := w.UntilPod("Failed", 60*time.Second, phaseIs(corev1.PodFailed))
				if restarts(p, "app") != 0 {
					t.Errorf("app restarted under Never after liveness failure")
				}
				// Nothing stays to run, so the kubelet kills the pod (computePodActions
				// keepCount == 0) with the generic message.
				c.WaitEvent(harness.EventFilter{Object: "m", Reason: "Killing", Message: "app"}, 5*time.Second)
				return
			}
			w.UntilPod("app restarted", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 1 })
			c.WaitEvent(harness.EventFilter{Object: "m", Reason: "Killing", Message: "Container app failed liveness probe, will be restarted"}, 5*time.Second)
		})
	}
}
