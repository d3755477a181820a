package pull

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// podYAML is a one-container pod that sleeps, with the given image and pull policy.
func podYAML(name, image string, policy corev1.PullPolicy) string {
	return harness.Pod{Name: name, Grace: 1, NoSharedDir: true, Containers: []harness.Container{{
		Name: "app", Image: image, Pull: string(policy), Command: []string{"sh", "-c", "sleep 3600"},
	}}}.YAML("")
}

// pushedImage starts a registry without auth and pushes busybox to it as
// tag; it returns the registry, the image's reference and a client of the
// shared daemon, from which the image is removed at cleanup.
func pushedImage(t *testing.T, tag string) (*registry, string, *harness.Client) {
	t.Helper()
	reg := startRegistry(t, false)
	ref := reg.push(t, "busybox", tag)
	removeImageAtCleanup(t, env.Daemon, ref)
	return reg, ref, env.Client(t)
}

// removeImageAtCleanup removes ref from daemon d at cleanup: images are
// daemon-wide, not per pod namespace. Register it before env.Client so that
// it runs after the client's cleanup has deleted the pods using the image.
func removeImageAtCleanup(t *testing.T, d *harness.Podrund, ref string) {
	t.Cleanup(func() {
		if !d.Running() {
			return
		}
		out, err := exec.Command(env.Bins.Podctl, "--socket", d.Socket, "image", "rm", ref).CombinedOutput()
		if err != nil && !strings.Contains(strings.ToLower(string(out)), "not found") {
			t.Errorf("cleanup: podctl image rm %s: %v\n%s", ref, err, out)
		}
	})
}

func waitRunning(c *harness.Client, pod string) *corev1.Pod {
	c.T.Helper()
	return c.WaitFor(pod, "container app running", 45*time.Second, func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
}

func waitWaiting(c *harness.Client, pod, reason string, timeout time.Duration) *corev1.Pod {
	c.T.Helper()
	return c.WaitFor(pod, "container app waiting with reason "+reason, timeout, func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == reason
	})
}

// wantEvent fails the test unless pod gets an event of type and reason
// whose message contains msg within a few seconds: events are recorded
// apart from the status, so one may show up just after the state it explains.
func wantEvent(c *harness.Client, pod, typ, reason, msg string) {
	c.T.Helper()
	f := harness.EventFilter{Object: pod, Type: typ, Reason: reason, Message: msg}
	if _, ok := c.FindEvent(f, 5*time.Second); !ok {
		c.T.Errorf("no %s; events:\n%s", f, harness.DescribeEvents(c.EventsMatching(harness.EventFilter{Object: pod})))
	}
}

// noEvent fails the test if pod has an event of reason whose message contains msg.
func noEvent(c *harness.Client, pod, reason, msg string) {
	c.T.Helper()
	for _, e := range c.EventsMatching(harness.EventFilter{Object: pod, Reason: reason, Message: msg}) {
		c.T.Errorf("pod %s: unexpected event %s %s: %s", pod, e.Type, reason, e.Message)
	}
}
