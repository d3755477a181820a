package robust

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestContainerdOutage: containerd is stopped for 10 s. podrund keeps
// serving the API, /readyz answers 503 naming containerd, the pods keep
// running; each pod gets one Warning ContainerRuntimeUnavailable event,
// readable through the API while containerd is still down, however often
// podrund retried; an app that exits during the outage is seen once
// containerd is back (the event subscription is renewed and the pods
// re-observed), each pod gets one Normal ContainerRuntimeAvailable, no
// container restarted, and /readyz is 200 again.
func TestContainerdOutage(t *testing.T) {
	t.Parallel()
	ctrd := env.PrivateContainerd(t)
	d := env.PrivateDaemonOn(t, ctrd)
	c := freshClient(t, d)
	applyAll(t, c,
		newPod(c, "steady", corev1.RestartPolicyAlways, []corev1.Container{sidecar(shell("side", forever))},
			withProbes(shell("app", httpServe), true, false)),
		newPod(c, "finisher", corev1.RestartPolicyNever, nil,
			shell("app", "trap 'exit 0' TERM; while [ ! -f /shared/stop ]; do sleep 0.2; done; exit 3")))
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		pods := listPods(t, c)
		return isReady(pods["steady"]) && isReady(pods["finisher"])
	}))
	before := listPods(t, c)

	if err := ctrd.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = ctrd.Start(t.Context())
		}
	}()
	outageEnds := time.Now().Add(10 * time.Second)
	if err := os.WriteFile(filepath.Join(c.HostDir, "finisher", "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sawUnready, sawWarnings := false, false
	for time.Now().Before(outageEnds) {
		sawWarnings = sawWarnings || (len(c.EventsMatching(outageWarning("steady"))) > 0 &&
			len(c.EventsMatching(outageWarning("finisher"))) > 0)
		code, body := c.REST(http.MethodGet, "/readyz", "", nil)
		if code == http.StatusServiceUnavailable && strings.Contains(string(body), "containerd") {
			sawUnready = true
		} else if code == http.StatusOK {
			t.Errorf("/readyz is 200 while containerd is down")
		}
		// The API keeps serving from the store.
		if pods := listPods(t, c); len(pods) != 2 {
			t.Errorf("during the outage the API lists %d pods, want 2", len(pods))
		}
		c.MustPodctl("get", "pods")
		time.Sleep(time.Second)
	}
	if !sawUnready {
		t.Errorf("/readyz never answered 503 naming containerd during the outage")
	}
	if !sawWarnings {
		t.Errorf("no %s events about both pods through the API during the outage; events:\n%s",
			outageWarning(""), harness.DescribeEvents(c.Events()))
	}
	if err := ctrd.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	harness.Eventually(t, time.Minute, harness.Check(func() string { return "/readyz not 200 after containerd came back" }, func() bool {
		code, _ := c.REST(http.MethodGet, "/readyz", "", nil)
		return code == http.StatusOK
	}))
	var fin *corev1.Pod
	harness.Eventually(t, time.Minute, harness.Check(func() string { return "exit during the outage not seen: " + describe(fin) }, func() bool {
		fin = c.GetPod("finisher")
		return fin.Status.Phase == corev1.PodFailed
	}))
	if s := harness.ContainerStatus(fin, "app").State.Terminated; s == nil || s.ExitCode != 3 ||
		s.ContainerID != harness.ContainerStatus(before["finisher"], "app").ContainerID {
		t.Errorf("finisher's exit during the outage: %+v", s)
	}
	steady := c.GetPod("steady")
	if diff := statusDiff(before["steady"], steady); diff != "" {
		t.Errorf("steady pod changed across the containerd outage: %s", diff)
	}
	if n := restartsOf(fin, "app"); n != 0 {
		t.Errorf("finisher's app restarted %d times across the outage", n)
	}
	checkOutageEvents(t, c, "steady", "finisher")
}

func outageWarning(pod string) harness.EventFilter {
	return harness.EventFilter{Object: pod, Type: corev1.EventTypeWarning,
		Reason: "ContainerRuntimeUnavailable", Message: "containerd is unreachable: "}
}

// checkOutageEvents: each pod has exactly one Warning for the outage
// (count 1: not one per reconnect attempt) and, after it, one Normal
// ContainerRuntimeAvailable naming how long containerd was gone.
func checkOutageEvents(t *testing.T, c *harness.Client, pods ...string) {
	t.Helper()
	for _, pod := range pods {
		back := c.WaitEvent(harness.EventFilter{Object: pod, Type: corev1.EventTypeNormal,
			Reason: "ContainerRuntimeAvailable", Message: "containerd is reachable again after "}, time.Minute)
		warns := c.EventsMatching(outageWarning(pod))
		if len(warns) != 1 || warns[0].Count != 1 {
			t.Errorf("pod %s: want one Warning ContainerRuntimeUnavailable with count 1, got:\n%s",
				pod, harness.DescribeEvents(warns))
			continue
		}
		if back.Count != 1 || back.FirstTimestamp.Before(&warns[0].LastTimestamp) {
			t.Errorf("pod %s: the Normal event (x%d at %v) does not follow the Warning (at %v)",
				pod, back.Count, back.FirstTimestamp, warns[0].LastTimestamp)
		}
	}
}
