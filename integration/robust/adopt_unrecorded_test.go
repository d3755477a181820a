package robust

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// adoptedLog is what podrund logs when it adopts a started instance its
// store does not name (supervisor/adopt_unrecorded.go).
const adoptedLog = "adopting a started container the store does not know"

// fillers is how many containers follow the marked one in the pod: the
// engine starts a pod's regular containers in one sync and commits the
// status only at its end, so each of them widens the window between the
// marked container's start and the commit naming it. Their image is
// absent with pull policy Never: each fails (ErrImageNeverPull) after a
// read-only image lookup, so the SIGKILL never lands in the middle of a
// container creation (which leaves a snapshot behind under containerd's
// lease; see the report of this test's commit).
const fillers = 40

// killTries bounds the attempts at SIGKILLing podrund inside that window.
const killTries = 3

// TestAdoptUnrecordedInstance: podrund is SIGKILLed right after
// containerd's /tasks/start event of a pod's first container, while it is
// still starting the pod's other containers, so the store does not name
// the started instance yet. The next podrund adopts it instead of killing
// and starting it again (R94): its process ran exactly once (a marker
// file it appends to on start), restartCount 0, the same container ID.
// Once with the container running on, once with it exiting 0 while
// podrund is down under restartPolicy Never (counted Completed, not run
// again). Whether the kill landed in the window is read from podrund's
// log (it logs every adoption of an unrecorded instance); a try that
// missed it is repeated with a new pod.
func TestAdoptUnrecordedInstance(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	ctrd, err := containerd.New(d.ContainerdAddress, containerd.WithDefaultNamespace(d.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	defer ctrd.Close()

	t.Run("running", func(t *testing.T) {
		name, id := killAfterFirstStart(t, c, d, ctrd, "run", corev1.RestartPolicyAlways, forever, nil)
		p := waitPod(t, c, name, "marked running", func(p *corev1.Pod) bool {
			s := harness.ContainerStatus(p, "marked")
			return s != nil && s.State.Running != nil
		})
		checkOnce(t, c, p, name, id)
		if s := harness.ContainerStatus(p, "marked"); s.State.Running == nil || !started(s) {
			t.Errorf("adopted instance not running and started (R17): %s", describe(p))
		}
	})
	t.Run("exited", func(t *testing.T) {
		script := "while [ ! -f /shared/go ]; do sleep 0.1; done; echo ended >> /shared/runs; exit 0"
		name, id := killAfterFirstStart(t, c, d, ctrd, "exit", corev1.RestartPolicyNever, script, func(name string) {
			if err := os.WriteFile(filepath.Join(c.HostDir, name, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			harness.Eventually(t, time.Minute, harness.Check(func() string { return "the marked container did not end" }, func() bool {
				return strings.Contains(c.ReadHostFile(name+"/runs"), "ended")
			}))
		})
		p := waitPod(t, c, name, "marked Completed", func(p *corev1.Pod) bool {
			s := harness.ContainerStatus(p, "marked")
			return s != nil && s.State.Terminated != nil
		})
		checkOnce(t, c, p, name, id)
		term := harness.ContainerStatus(p, "marked").State.Terminated
		if term.ExitCode != 0 || term.Reason != "Completed" {
			t.Errorf("adopted exited instance: %+v, want Completed 0", term)
		}
		if got := strings.Count(c.ReadHostFile(name+"/runs"), "ended"); got != 1 {
			t.Errorf("marked container ended %d times, want once", got)
		}
	})
	deleteAllAndCheckShims(t, c, d)
}

// killAfterFirstStart applies a pod whose first container, "marked",
// appends "started" to /shared/runs and then runs script, followed by
// fillers that cannot start; it SIGKILLs podrund on the marked container's
// /tasks/start event, runs whileDown, starts podrund again and returns the
// pod's name and the marked instance's ID once podrund's log shows that
// instance's adoption. A try in which podrund committed the status before
// the kill (no adoption logged) is checked and repeated with a new pod.
func killAfterFirstStart(t *testing.T, c *harness.Client, d *harness.Podrund, ctrd *containerd.Client,
	prefix string, policy corev1.RestartPolicy, script string, whileDown func(name string)) (string, string) {
	t.Helper()
	for try := range killTries {
		name := fmt.Sprintf("%s-%d", prefix, try)
		apps := []corev1.Container{shell("marked", "echo started >> /shared/runs; "+script)}
		for i := range fillers {
			f := shell(fmt.Sprintf("filler-%d", i), forever)
			f.Image, f.ImagePullPolicy = "podrun.invalid/absent:1", corev1.PullNever
			apps = append(apps, f)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		starts := markedStart(ctx, t, ctrd, d.Namespace)
		applyAll(t, c, newPod(c, name, policy, nil, apps...))
		var id string
		select {
		case id = <-starts:
		case <-ctx.Done():
			t.Fatalf("no /tasks/start event for pod %s: %s", name, describe(c.GetPod(name)))
		}
		if err := d.Stop(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if got := nameOf(ctx, ctrd, id); got != "marked" {
			t.Fatalf("the first container started in pod %s is %q (%s), not the marked one", name, got, id)
		}
		cancel()
		if whileDown != nil {
			whileDown(name)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
		err := d.Start(ctx)
		cancel()
		if err != nil {
			t.Fatalf("restart podrund: %v", err)
		}
		waitPod(t, c, name, "marked instance known", func(p *corev1.Pod) bool {
			s := harness.ContainerStatus(p, "marked")
			return s != nil && s.ContainerID != ""
		})
		if strings.Contains(d.LogGrep(id, 1000), adoptedLog) {
			return name, id
		}
		t.Logf("try %d: podrund had committed the status before the SIGKILL; again with a new pod", try)
		checkOnce(t, c, c.GetPod(name), name, id)
		c.MustPodctl("delete", "pod", name, "--grace-period", "1", "--wait=true")
	}
	t.Fatalf("in %d tries podrund was never SIGKILLed between a start and its commit", killTries)
	return "", ""
}

// markedStart sends the container ID of the next /tasks/start event in
// containerd namespace ns: the daemon is the test's own and only the
// marked container of its pod can start, which the caller checks after
// the kill (a label lookup first would narrow the window).
func markedStart(ctx context.Context, t *testing.T, ctrd *containerd.Client, ns string) <-chan string {
	t.Helper()
	envs, errs := ctrd.Subscribe(ctx, fmt.Sprintf(`namespace==%q,topic=="/tasks/start"`, ns))
	out := make(chan string, 1)
	go func() {
		for {
			select {
			case env := <-envs:
				v, err := typeurl.UnmarshalAny(env.Event)
				if e, ok := v.(*apievents.TaskStart); err == nil && ok {
					out <- e.ContainerID
					return
				}
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// waitPod polls pod name until cond holds.
func waitPod(t *testing.T, c *harness.Client, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	harness.Eventually(t, 2*time.Minute, harness.Check(func() string { return what + ": " + describe(p) }, func() bool {
		p = c.GetPod(name)
		return cond(p)
	}))
	return p
}

// checkOnce: the marked container started exactly once, as the instance
// the kill followed, with restartCount 0; no container of the pod restarted.
func checkOnce(t *testing.T, c *harness.Client, p *corev1.Pod, name, id string) {
	t.Helper()
	if got := strings.Count(c.ReadHostFile(name+"/runs"), "started"); got != 1 {
		t.Errorf("pod %s: marked container started %d times, want once (R94)", name, got)
	}
	s := harness.ContainerStatus(p, "marked")
	if s == nil || s.ContainerID != "containerd://"+id {
		t.Errorf("pod %s: marked instance is not the one started before the SIGKILL (%s): %s", name, id, describe(p))
	}
	for _, cs := range allStatuses(p) {
		if cs.RestartCount != 0 {
			t.Errorf("pod %s: %s restartCount %d, want 0 (R94): %s", name, cs.Name, cs.RestartCount, describe(p))
		}
	}
}

// nameOf is the container name label of a containerd container.
func nameOf(ctx context.Context, ctrd *containerd.Client, id string) string {
	cont, err := ctrd.LoadContainer(ctx, id)
	if err != nil {
		return ""
	}
	labels, err := cont.Labels(ctx)
	if err != nil {
		return ""
	}
	return labels["io.podrun.container.name"]
}
