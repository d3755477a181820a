package shutdown

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/podrun/podrun/integration/harness"
)

// grace is the configured shutdownGracePeriod. logind waits for delay
// locks at most InhibitDelayMaxSec, which is why podrund must release its
// lock within the grace (the kubelet sets the one to the other).
const grace = 20 * time.Second

// markedShell runs until SIGTERM, marking its start and its TERM in the
// order file.
func markedShell(name string, sidecar bool) corev1.Container {
	script := fmt.Sprintf("trap '%s; exit 0' TERM; %s; touch /tmp/marked; while true; do sleep 1 & wait $!; done",
		strings.ReplaceAll(harness.OrderMark(name, "TERM"), "'", `'\''`), harness.OrderMark(name, "start"))
	c := corev1.Container{Name: name, Image: "busybox:1.28", Command: []string{"sh", "-c", script},
		VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}}
	if sidecar {
		c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		// A sidecar without a startup probe counts as started once its
		// process runs (R17), before its shell wrote "start", and the next
		// container (prepared ahead) starts within milliseconds: the probe
		// waits for the mark (each instance has its own /tmp), so that the
		// start lines keep the start order the test checks on restart.
		c.StartupProbe = &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 60,
			ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-e", "/tmp/marked"}}}}
	}
	return c
}

func shutdownPod(c *harness.Client) string {
	pod := corev1.Pod{
		TypeMeta:   metaType(),
		ObjectMeta: metaObject("node"),
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			InitContainers:                []corev1.Container{markedShell("side1", true), markedShell("side2", true)},
			Containers:                    []corev1.Container{markedShell("app", false)},
			Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: c.HostDir + "/node",
					Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}}},
		},
	}
	b, err := json.Marshal(pod)
	if err != nil {
		c.T.Fatal(err)
	}
	return string(b)
}

// startPodrund runs a private podrund on the private system bus with the
// configured shutdown grace; it returns the daemon once it holds a lock.
func startPodrund(t *testing.T, l *fakeLogind, busAddr string) (*harness.Podrund, *inhibitLock) {
	t.Helper()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", busAddr)
	d := env.PrivateDaemon(t)
	// The harness writes its own config; restart podrund with the grace added.
	if err := d.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "shutdownGracePeriod: %s\n", grace)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	lock := l.nextLock(t, d.PID(), time.Minute)
	if lock.What != "shutdown" || lock.Mode != "delay" || lock.Who != "podrund" {
		t.Fatalf("lock %+v, want a delay lock on shutdown by podrund", lock)
	}
	// logind's 5 s limit is shorter than the grace: podrund says so, with the fix.
	harness.Eventually(t, 30*time.Second, func() string {
		if strings.Contains(d.LogTail(200), "logind ends a host shutdown before the pods' shutdown grace is up") {
			return ""
		}
		return fmt.Sprintf("no warning about logind's 5 s InhibitDelayMaxSec against a %s grace; log:\n%s", grace, d.LogTail(40))
	})
	return d, lock
}

// TestGracefulNodeShutdown (R61–R69 order at node shutdown):
// podrund holds a logind delay lock; on PrepareForShutdown(true) it stops
// the pod in pod order (the app first, then the sidecars in reverse), and
// only then, within the configured grace, releases the lock. When logind
// cancels the shutdown (PrepareForShutdown(false)), podrund takes a new
// lock and the pod runs again in order (R95: restart counts incremented).
func TestGracefulNodeShutdown(t *testing.T) {
	busAddr := startBus(t)
	l := startLogind(t, busAddr)
	d, lock := startPodrund(t, l, busAddr)
	c := env.ClientOn(t, d)
	c.Apply(shutdownPod(c))
	dir := "node"
	c.WaitOrder(dir, 2*time.Minute, "side1 start", "side2 start", "app start")
	c.WaitFor("node", "running", 2*time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	asked := time.Now()
	l.prepareForShutdown(t, true)
	select {
	case <-lock.released:
	case <-time.After(grace + time.Minute):
		t.Fatalf("podrund did not release its lock; log:\n%s", d.LogTail(40))
	}
	// Read at once: everything must have stopped before the lock went.
	pod := c.GetPod("node")
	order := c.ReadOrder(dir)
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if cs.State.Terminated == nil {
			t.Errorf("lock released while %s is %s", cs.Name, harness.StateString(cs.State))
		}
	}
	harness.ExpectOrder(t, order, "app TERM", "side2 TERM", "side1 TERM")
	t.Logf("lock released %v after PrepareForShutdown(true); order:\n%s", lock.ReleasedAt.Sub(asked), order)
	if took := lock.ReleasedAt.Sub(asked); took > grace {
		t.Errorf("lock released %v after PrepareForShutdown(true), beyond the %v grace", took, grace)
	}
	if !d.Running() {
		t.Fatal("podrund exited at the shutdown signal; it must wait for systemd to stop it")
	}

	l.prepareForShutdown(t, false)
	again := l.nextLock(t, d.PID(), time.Minute)
	if again.Mode != "delay" || again.What != "shutdown" {
		t.Errorf("lock after cancel %+v", again)
	}
	o := c.WaitOrderUntil(dir, "the pod to run again", 2*time.Minute, func(o harness.Order) bool {
		return o.Count("app", "start") == 2
	})
	t.Logf("new lock taken after the cancellation; order:\n%s", o)
	after := o[o.Index("side1", "TERM"):]
	harness.ExpectOrder(t, after, "side1 start", "side2 start", "app start")
	c.WaitFor("node", "running again, each container restarted once", 2*time.Minute, func(p *corev1.Pod) bool {
		if p.Status.Phase != corev1.PodRunning {
			return false
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if cs.RestartCount != 1 || cs.State.Running == nil {
				return false
			}
		}
		return true
	})
	select {
	case <-again.released:
		t.Fatal("the new lock was released while no shutdown is under way")
	default:
	}
}
