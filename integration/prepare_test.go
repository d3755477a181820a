package integration

// Prepare-ahead (to start pods below containerd's own floor): podrund may create a
// pod's later containers while its earlier ones start, and only start them
// at their turn. These tests run private podrunds with prepareAhead set
// explicitly either way and check that nothing a user can see differs:
// start order and events (R11, R12, R16), env resolved at the turn, a turn
// that never comes (R19: init failure under Never), and a podrund killed
// while containers are prepared (R94).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// prepareDaemon starts a private podrund with prepareAhead set to on.
func prepareDaemon(t *testing.T, on bool) (*harness.Podrund, *harness.Client) {
	t.Helper()
	d := env.PrivateDaemon(t)
	cfg, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte("prepareAhead: "+strconv.FormatBool(on)+"\n")...)
	if err := os.WriteFile(d.Config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Restart(t.Context(), syscall.SIGTERM); err != nil {
		t.Fatalf("restart podrund with prepareAhead %v: %v", on, err)
	}
	return d, env.ClientOn(t, d)
}

// instancesOf lists the IDs of containerd containers of container name in
// daemon d's namespace (prepared ones included: they exist only there).
func instancesOf(t *testing.T, d *harness.Podrund, name string) []string {
	t.Helper()
	out, err := d.Ctrd.Ctr(t.Context(), d.Namespace, "containers", "ls", "-q",
		`labels."io.podrun.container.name"==`+name)
	if err != nil {
		t.Fatalf("%v\ncontainerd log:\n%s", err, d.Ctrd.LogTail(20))
	}
	return strings.Fields(out)
}

// waitInstances waits until container name has n containerd containers.
func waitInstances(t *testing.T, d *harness.Podrund, name string, n int) []string {
	t.Helper()
	var ids []string
	harness.Eventually(t, 60*time.Second, func() string {
		if ids = instancesOf(t, d, name); len(ids) == n {
			return ""
		}
		return fmt.Sprintf("container %s has %d containerd containers %v, want %d; podrund log:\n%s",
			name, len(ids), ids, n, d.LogTail(30))
	})
	return ids
}

// podEvents lists "Reason fieldPath" of the pod's container events in the
// order they were recorded.
func podEvents(c *harness.Client, pod string) []string {
	evs := c.Events()
	slices.SortStableFunc(evs, func(a, b corev1.Event) int {
		ra, _ := strconv.ParseUint(a.ResourceVersion, 10, 64)
		rb, _ := strconv.ParseUint(b.ResourceVersion, 10, 64)
		return int(ra) - int(rb)
	})
	var out []string
	for _, e := range evs {
		if e.InvolvedObject.Name == pod && e.InvolvedObject.FieldPath != "" {
			out = append(out, e.Reason+" "+e.InvolvedObject.FieldPath)
		}
	}
	return out
}

// gatedInit is a plain init container that waits for the file go in the
// pod's shared dir and then exits with code.
func gatedInit(code int) harness.Container {
	return harness.Container{Name: "init", Command: []string{"sh", "-c",
		harness.OrderMark("init", "Started") + "; until [ -e /shared/go ]; do sleep 0.1; done; exit " + strconv.Itoa(code)}}
}

// startedLine makes a container append "<uptime> name Started" to the
// order file and then sleep until stopped.
func startedLine(name string) []string {
	return []string{"sh", "-c", harness.OrderMark(name, "Started") + "; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"}
}

// upSidecar is a sidecar that writes its Started line and only then
// passes its startup probe, so that the next container's start (R12: after
// the sidecar is started) follows its line in the order file.
func upSidecar(name string) harness.Container {
	return harness.Container{Name: name, Sidecar: true,
		Command: []string{"sh", "-c", harness.OrderMark(name, "Started") + "; touch /shared/" + name + ".up; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"},
		Extra:   "    startupProbe:\n      exec:\n        command: [\"test\", \"-e\", \"/shared/" + name + ".up\"]\n      periodSeconds: 1\n"}
}

// TestPrepareAheadSameOrderAndEvents_R11_R12_R16: a pod with a plain init
// container, two sidecars (with startup probes) and an app starts in the
// same order with the same events whether later containers are prepared
// ahead or not.
func TestPrepareAheadSameOrderAndEvents_R11_R12_R16(t *testing.T) {
	t.Parallel()
	run := func(on bool) ([]string, []string) {
		_, c := prepareDaemon(t, on)
		name := "order-" + strconv.FormatBool(on) // both daemons' pods write below one host dir
		pod := harness.Pod{Name: name, Grace: 5,
			Inits: []harness.Container{
				{Name: "init", Command: []string{"sh", "-c", harness.OrderMark("init", "Started")}},
				upSidecar("s1"), upSidecar("s2"),
			},
			Containers: []harness.Container{{Name: "app", Command: startedLine("app")}},
		}
		c.Apply(pod.YAML(c.HostDir))
		c.WaitFor(name, "Running and Ready", 90*time.Second, func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
		})
		lines := c.WaitOrder(name, 30*time.Second, "init Started", "s1 Started", "s2 Started", "app Started")
		var names []string
		for _, l := range lines {
			names = append(names, l.Name+" "+l.Event)
		}
		// Events are stored after the status that the watch showed.
		c.WaitEvent(harness.EventFilter{Object: name, Container: "app", Reason: "Started"}, 30*time.Second)
		return names, podEvents(c, name)
	}
	seqOrder, seqEvents := run(false)
	order, events := run(true)
	want := []string{"init Started", "s1 Started", "s2 Started", "app Started"}
	if !slices.Equal(seqOrder, want) || !slices.Equal(order, want) {
		t.Fatalf("start order: sequential %q, prepared ahead %q, want %q", seqOrder, order, want)
	}
	if !slices.Equal(events, seqEvents) {
		t.Fatalf("events differ:\nprepared ahead %q\n    sequential %q", events, seqEvents)
	}
	for _, n := range []string{"init", "s1", "s2"} {
		fp := "spec.initContainers{" + n + "}"
		if slices.Index(events, "Created "+fp) < 0 || slices.Index(events, "Started "+fp) < slices.Index(events, "Created "+fp) {
			t.Fatalf("events of %s: %q", n, events)
		}
	}
}

// TestPrepareAheadConfigMapChangedDuringInit: the app is prepared while
// the init container runs; its ConfigMap changes before the app's turn:
// the app runs with the new value, as Kubernetes resolves env at the turn.
func TestPrepareAheadConfigMapChangedDuringInit(t *testing.T) {
	t.Parallel()
	d, c := prepareDaemon(t, true)
	c.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: old\n")
	pod := harness.Pod{Name: "cmturn", Grace: 5, Inits: []harness.Container{gatedInit(0)},
		Containers: []harness.Container{{Name: "app",
			Command: []string{"sh", "-c", "echo \"K=$K\"; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"},
			Extra:   "    env:\n    - name: K\n      valueFrom:\n        configMapKeyRef:\n          name: cm\n          key: k\n"}}}
	c.Apply(pod.YAML(c.HostDir))
	prepared := waitInstances(t, d, "app", 1)
	c.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: new\n")
	if err := os.WriteFile(filepath.Join(c.HostDir, "cmturn", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := c.WaitFor("cmturn", "app running", 90*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
	})
	out := logsUntil(t, c, "cmturn", "app", "K=", 1, 30*time.Second)
	if !strings.Contains(out, "K=new") || strings.Contains(out, "K=old") {
		t.Fatalf("app env after the ConfigMap changed during init: %q, want K=new", out)
	}
	if ids := instancesOf(t, d, "app"); len(ids) != 1 || ids[0] == prepared[0] {
		t.Fatalf("app instances %v: the stale prepared %s was not replaced", ids, prepared[0])
	}
	if s := status(p, "app"); s.RestartCount != 0 {
		t.Fatalf("app restartCount %d, want 0", s.RestartCount)
	}
}

// TestPrepareAheadInitFailsNever_R19: the init container fails under
// restartPolicy Never while the app is prepared: the pod fails, the app
// never ran, has no event and no status beyond waiting, and its prepared
// container is removed.
func TestPrepareAheadInitFailsNever_R19(t *testing.T) {
	t.Parallel()
	d, c := prepareDaemon(t, true)
	pod := harness.Pod{Name: "never", RestartPolicy: "Never", Grace: 5, Inits: []harness.Container{gatedInit(3)},
		Containers: []harness.Container{{Name: "app", Command: startedLine("app")}}}
	c.Apply(pod.YAML(c.HostDir))
	waitInstances(t, d, "app", 1)
	if err := os.WriteFile(filepath.Join(c.HostDir, "never", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := c.WaitFor("never", "Failed", 90*time.Second, phaseIs(corev1.PodFailed))
	waitInstances(t, d, "app", 0)
	if s := status(p, "app"); s == nil || s.ContainerID != "" || s.State.Running != nil || s.State.Terminated != nil {
		t.Fatalf("app status after the init failure: %+v", s)
	}
	for _, l := range c.ReadOrder("never") {
		if l.Name == "app" {
			t.Fatalf("app ran although its turn never came: %s", l)
		}
	}
	for _, e := range podEvents(c, "never") {
		if strings.Contains(e, "{app}") {
			t.Fatalf("event about the app whose turn never came: %s", e)
		}
	}
}

// TestPrepareAheadSIGKILLWhilePrepared_R94: podrund is SIGKILLed while the
// app is prepared; the new podrund removes the prepared container at
// adoption and starts the app at its turn, once.
func TestPrepareAheadSIGKILLWhilePrepared_R94(t *testing.T) {
	t.Parallel()
	d, c := prepareDaemon(t, true)
	pod := harness.Pod{Name: "killed", Grace: 5, Inits: []harness.Container{gatedInit(0)},
		Containers: []harness.Container{{Name: "app", Command: startedLine("app")}}}
	c.Apply(pod.YAML(c.HostDir))
	c.WaitFor("killed", "init running", 90*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "init")
		return s != nil && s.State.Running != nil
	})
	prepared := waitInstances(t, d, "app", 1)
	if err := d.Restart(t.Context(), syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL and restart podrund: %v", err)
	}
	waitInstances(t, d, "app", 0)
	if err := os.WriteFile(filepath.Join(c.HostDir, "killed", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := c.WaitFor("killed", "Running and Ready", 90*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
	})
	c.WaitOrder("killed", 30*time.Second, "app Started")
	if ids := instancesOf(t, d, "app"); len(ids) != 1 || ids[0] == prepared[0] {
		t.Fatalf("app instances %v after restart, prepared before it %v", ids, prepared)
	}
	if o := c.ReadOrder("killed"); status(p, "app").RestartCount != 0 || o.Count("app", "Started") != 1 {
		t.Fatalf("app restartCount %d, order:\n%s\nwant one start", status(p, "app").RestartCount, o)
	}
	if s := status(p, "init"); s == nil || s.RestartCount != 0 || s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
		t.Fatalf("init status after restart: %+v (R94: adopted, not restarted)", s)
	}
}
