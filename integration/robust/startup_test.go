package robust

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// embeddedContainerds lists containerd processes a podrund below dir
// started itself (their config lies in its --root).
func embeddedContainerds(dir string) []string {
	var out []string
	for _, p := range harness.ProcessesMentioning(dir) {
		if strings.HasPrefix(p.Cmdline, "containerd ") || strings.Contains(p.Cmdline, "/containerd --config") {
			out = append(out, p.String())
		}
	}
	return out
}

// readyz is the code of GET /readyz, 0 while nothing answers on the
// socket (podrund serves its API once containerd answered).
func readyz(d *harness.Podrund) int {
	resp, err := harness.UnixClient(d.Socket).Get("http://podrund/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPodrundWaitsForContainerd is a boot where podrund comes up before
// containerd: podrund is started while containerd is down and containerd 5 s
// later. podrund waits for the configured address (logging each wait),
// never starts a containerd of its own there, is not ready meanwhile, and
// once containerd answers it adopts the running pod untouched (R94) and
// runs new ones. Before, it started its own containerd with another root
// on the same socket and the stored pods were lost to it.
func TestPodrundWaitsForContainerd(t *testing.T) {
	t.Parallel()
	ctrd := env.PrivateContainerd(t)
	d := env.PrivateDaemonOn(t, ctrd)
	c := freshClient(t, d)
	applyAll(t, c, newPod(c, "steady", corev1.RestartPolicyAlways, nil, shell("app", forever)))
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		return isReady(listPods(t, c)["steady"])
	}))
	before := c.GetPod("steady")

	if err := d.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ctrd.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Launch(); err != nil {
		t.Fatal(err)
	}
	containerdStarted := false
	defer func() {
		if !containerdStarted {
			_ = ctrd.Start(context.Background())
		}
	}()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		if !d.Running() {
			t.Fatalf("podrund exited while containerd was down; log:\n%s", d.LogTail(30))
		}
		if readyz(d) == http.StatusOK {
			t.Fatalf("/readyz is 200 before containerd answers; log:\n%s", d.LogTail(30))
		}
		if procs := embeddedContainerds(d.Dir); len(procs) > 0 {
			t.Fatalf("podrund started its own containerd instead of waiting:\n%s", strings.Join(procs, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if waits := strings.Count(d.LogGrep("waiting for containerd", 100), `"msg":"waiting for containerd"`); waits < 2 {
		t.Errorf("podrund logged %d waits for containerd in 5 s, want one per retry (1 s, 2 s, ...)", waits)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := ctrd.Start(ctx); err != nil {
		t.Fatal(err)
	}
	containerdStarted = true
	if err := d.WaitReady(ctx, time.Minute); err != nil {
		t.Fatalf("podrund after containerd came up: %v", err)
	}
	if procs := embeddedContainerds(d.Dir); len(procs) > 0 {
		t.Fatalf("podrund started its own containerd:\n%s", strings.Join(procs, "\n"))
	}
	now := c.GetPod("steady")
	if s, b := harness.ContainerStatus(now, "app"), harness.ContainerStatus(before, "app"); s.ContainerID != b.ContainerID || s.RestartCount != b.RestartCount || !isReady(now) {
		t.Errorf("steady pod after podrund waited for containerd: %s; want the same instance, Ready (R94)", describe(now))
	}
	applyAll(t, c, newPod(c, "after", corev1.RestartPolicyAlways, nil, shell("app", forever)))
	harness.Eventually(t, time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		return isReady(listPods(t, c)["after"])
	}))
}
