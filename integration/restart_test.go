package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestContainerdRestart: containers outlive a containerd restart, podrund
// keeps their instances (nothing restarts), and it still sees exits after
// containerd is back (its event subscription is renewed).
func TestContainerdRestart(t *testing.T) {
	t.Parallel()
	ctrd := env.PrivateContainerd(t)
	d := env.PrivateDaemonOn(t, ctrd)
	c := env.ClientOn(t, d)
	ps := harness.Pod{Name: "survivor", RestartPolicy: "Never",
		Inits: []harness.Container{script{Name: "side", Forever: true, TrapTerm: true}.sidecar()},
		Containers: []harness.Container{script{Name: "app", ExitCode: 0,
			Before: "while [ ! -f /shared/stop ]; do sleep 0.2; done"}.container()}}
	c.Apply(ps.YAML(c.HostDir))
	before := c.WaitFor("survivor", "Ready", 60*time.Second, harness.PodReady)

	if err := ctrd.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ctrd.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := c.Watch("survivor")
	// Tell the app to finish: podrund must notice the exit through containerd's
	// events and complete the pod Job-style (R72).
	if err := os.WriteFile(filepath.Join(c.HostDir, "survivor", "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	final := w.UntilPod("Succeeded after containerd restart", 60*time.Second, phaseIs(corev1.PodSucceeded))
	for _, n := range []string{"side", "app"} {
		if restarts(final, n) != 0 || status(final, n).ContainerID != status(before, n).ContainerID {
			t.Errorf("%s changed across the containerd restart: %s", n, harness.Describe(final))
		}
	}
	if s := terminated(final, "app"); s == nil || s.ExitCode != 0 {
		t.Errorf("app final state %+v", s)
	}
}
