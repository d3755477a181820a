package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestSeed01SidecarBeforeApp is the first seed end to end: it runs, shows a
// Kubernetes-shaped status, logs work, and deleting it leaves nothing behind.
func TestSeed01SidecarBeforeApp(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	w := c.Watch("myapp-pod")
	if out := c.ApplyFile(seed(t, "01-sidecar-before-app.yaml")); !strings.Contains(out, "pod/myapp-pod created") {
		t.Errorf("apply printed %q, want pod/myapp-pod created", out)
	}
	c.MustPodctl("wait", "pod", "myapp-pod", "--for=condition=Ready", "--timeout", "60s")
	w.UntilPod("phase Running and Ready", 10*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
	})

	// R16: init-myservice → init-mydb → istio-proxy (started) → myapp-container,
	// seen as the order in which the watch saw each container running/done.
	checkInitOrder(t, w.History(), []string{"init-myservice", "init-mydb", "istio-proxy", "myapp-container"})

	p := c.GetPod("myapp-pod")
	checkKubernetesShape(t, p)
	c.WantPodsRow("R91", "myapp-pod", "2/2", "Running")
	// Running is not "has printed yet": follow the log until the line is there.
	logsUntil(t, c, "myapp-pod", "myapp-container", "app running", 1, 30*time.Second)
	if out := c.Logs("myapp-pod", "myapp-container"); !strings.Contains(out, "app running") {
		t.Errorf("podctl logs myapp-pod -c myapp-container = %q, want app running", out)
	}
	if out := c.Logs("myapp-pod", "init-mydb"); !strings.Contains(out, "init-mydb done") {
		t.Errorf("podctl logs myapp-pod -c init-mydb = %q", out)
	}

	ids := containerIDs(p)
	if out, errOut, code := c.Podctl("delete", "pod", "myapp-pod"); code != 0 {
		t.Fatalf("podctl delete pod myapp-pod: exit %d %s %s", code, out, errOut)
	}
	c.MustPodctl("wait", "pod", "myapp-pod", "--for=delete", "--timeout", "60s")
	final := w.UntilDeleted(10 * time.Second)
	// R69: every regular container exits 0 on TERM → Succeeded.
	if final.Status.Phase != corev1.PodSucceeded {
		t.Errorf("final phase %s, want Succeeded (app traps TERM and exits 0); %s", final.Status.Phase, harness.Describe(final))
	}
	if _, errOut, code := c.Podctl("get", "pod", "myapp-pod"); code != 1 || !strings.Contains(strings.ToLower(errOut), "not found") {
		t.Errorf("get after delete: exit %d, stderr %q; want exit 1 and NotFound", code, errOut)
	}
	checkNothingLeft(t, c, p, ids)
}

// checkInitOrder checks from the watch history that each container was first
// seen running or terminated no earlier than the one before it was done
// (terminated for a plain init, running for a sidecar).
func checkInitOrder(t *testing.T, hist []harness.WatchedPod, order []string) {
	t.Helper()
	first := func(name string, cond func(s *corev1.ContainerStatus) bool) int {
		for i, ev := range hist {
			if s := status(ev.Pod, name); s != nil && cond(s) {
				return i
			}
		}
		return -1
	}
	active := func(s *corev1.ContainerStatus) bool { return s.State.Running != nil || s.State.Terminated != nil }
	for i := 1; i < len(order); i++ {
		prevDone := first(order[i-1], func(s *corev1.ContainerStatus) bool {
			return s.State.Terminated != nil || (s.State.Running != nil && s.Started != nil && *s.Started)
		})
		cur := first(order[i], active)
		if prevDone < 0 || cur < 0 || cur < prevDone {
			t.Errorf("R16: %s was active (event %d) before %s was done (event %d)", order[i], cur, order[i-1], prevDone)
		}
	}
}

func checkKubernetesShape(t *testing.T, p *corev1.Pod) {
	t.Helper()
	if p.Kind != "Pod" || p.APIVersion != "v1" {
		t.Errorf("kind/apiVersion = %s/%s", p.Kind, p.APIVersion)
	}
	if p.UID == "" || p.ResourceVersion == "" || p.CreationTimestamp.IsZero() {
		t.Errorf("metadata lacks uid/resourceVersion/creationTimestamp: %+v", p.ObjectMeta)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.TerminationGracePeriodSeconds == nil ||
		*p.Spec.TerminationGracePeriodSeconds != 30 || p.Spec.DNSPolicy == "" {
		t.Errorf("spec not defaulted as the API server does (R7): restartPolicy %q tgps %v dnsPolicy %q",
			p.Spec.RestartPolicy, p.Spec.TerminationGracePeriodSeconds, p.Spec.DNSPolicy)
	}
	if p.Status.StartTime == nil {
		t.Error("status.startTime missing (R90)")
	}
	for _, ct := range []corev1.PodConditionType{"PodReadyToStartContainers", corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c := harness.PodCondition(p, ct); c == nil || c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s = %+v, want True (R81-R82)", ct, c)
		}
	}
	var names []string
	for _, s := range p.Status.InitContainerStatuses {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "init-myservice,init-mydb,istio-proxy" {
		t.Errorf("initContainerStatuses %v, want spec order (R84)", names)
	}
	for _, n := range []string{"init-myservice", "init-mydb"} {
		if s := terminated(p, n); s == nil || s.ExitCode != 0 || s.Reason != "Completed" {
			t.Errorf("%s state %+v, want Terminated Completed 0 (R86)", n, s)
		}
		if s := status(p, n); s != nil && (!s.Ready || (s.Started != nil && *s.Started)) {
			t.Errorf("%s: plain init done must be ready=true started=false (R45-R46), got ready=%v started=%v", n, s.Ready, s.Started)
		}
	}
	for _, n := range []string{"istio-proxy", "myapp-container"} {
		s := status(p, n)
		if s == nil || s.State.Running == nil || !s.Ready || s.Started == nil || !*s.Started || s.RestartCount != 0 {
			t.Errorf("%s status %+v, want running, ready, started, 0 restarts", n, s)
			continue
		}
		if !strings.HasPrefix(s.ContainerID, "containerd://") || s.ImageID == "" || !strings.Contains(s.Image, "busybox") {
			t.Errorf("%s: containerID %q image %q imageID %q (R84)", n, s.ContainerID, s.Image, s.ImageID)
		}
	}
}

func containerIDs(p *corev1.Pod) []string {
	var ids []string
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range list {
			if id := strings.TrimPrefix(s.ContainerID, "containerd://"); id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// checkNothingLeft checks one deleted pod's traces: containerd containers,
// tasks and snapshots of its instances, mounts, sandbox namespaces, pod dir.
func checkNothingLeft(t *testing.T, c *harness.Client, p *corev1.Pod, ids []string) {
	t.Helper()
	ctx := t.Context()
	d := c.Daemon
	out, err := d.Ctrd.Ctr(ctx, d.Namespace, "containers", "ls", "-q", fmt.Sprintf(`labels."io.podrun.pod.uid"==%s`, p.UID))
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("containers of pod %s remain: %q %v", p.UID, out, err)
	}
	for _, what := range [][]string{{"tasks", "ls"}, {"snapshots", "ls"}} {
		out, err := d.Ctrd.Ctr(ctx, d.Namespace, what...)
		if err != nil {
			t.Error(err)
		}
		for _, id := range ids {
			if strings.Contains(out, id) {
				t.Errorf("%s still lists instance %s of the deleted pod:\n%s", what[0], id, out)
			}
		}
	}
	mounts, _ := harness.MountsUnder(d.Dir)
	for _, m := range mounts {
		if strings.Contains(m, string(p.UID)) {
			t.Errorf("mount of the deleted pod remains: %s", m)
		}
	}
	for _, id := range ids {
		for _, m := range mounts {
			if strings.Contains(m, id) {
				t.Errorf("rootfs mount of instance %s remains: %s", id, m)
			}
		}
	}
	for _, f := range harness.FilesUnder(filepath.Join(d.State, "sandboxes", string(p.UID))) {
		t.Errorf("sandbox namespace file remains: %s", f)
	}
	if _, err := os.Stat(filepath.Join(d.Root, "pods", string(p.UID))); err == nil {
		t.Errorf("pod dir %s remains after delete", filepath.Join(d.Root, "pods", string(p.UID)))
	}
	for _, proc := range harness.ProcessesMentioning(c.Env.Base) {
		for _, id := range ids {
			if strings.Contains(proc.Cmdline, id) || strings.Contains(proc.Root, id) {
				t.Errorf("process of the deleted pod remains: %s", proc)
			}
		}
	}
}

// TestSIGKILLLosesNothing: every object podrund acknowledged survives a
// SIGKILL; running containers are adopted, not restarted (R94).
func TestSIGKILLLosesNothing(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	c.Apply(configMapAndSecret("cm", "k", "v", "sec", "password", "hunter2") + harness.PodManifest("keep", `
  initContainers:
  - name: side
    image: busybox:1.28
    restartPolicy: Always
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
`))
	before := c.WaitFor("keep", "Running and Ready", 60*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && harness.PodReady(p)
	})
	// An object acknowledged just before the kill must survive too.
	c.Apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: last\ndata:\n  x: \"y\"\n")
	if err := d.Restart(t.Context(), 9); err != nil {
		t.Fatalf("SIGKILL and restart podrund: %v", err)
	}
	for _, obj := range []string{"configmap/cm", "configmap/last", "secret/sec", "pod/keep"} {
		kind, name, _ := strings.Cut(obj, "/")
		out, errOut, code := c.Podctl("get", kind+"s", name, "-o", "json")
		if code != 0 {
			t.Errorf("%s lost after SIGKILL: %s", obj, errOut)
			continue
		}
		var m struct {
			Data map[string]string `json:"data"`
		}
		_ = json.Unmarshal([]byte(out), &m)
		if obj == "configmap/cm" && m.Data["k"] != "v" {
			t.Errorf("configmap data after restart: %v", m.Data)
		}
	}
	after := c.WaitFor("keep", "Ready again after restart", 60*time.Second, harness.PodReady)
	if after.UID != before.UID {
		t.Errorf("pod UID changed across podrund restart: %s → %s", before.UID, after.UID)
	}
	for _, n := range []string{"side", "app"} {
		b, a := status(before, n), status(after, n)
		if a == nil || a.ContainerID != b.ContainerID || a.RestartCount != 0 || a.State.Running == nil {
			t.Errorf("R94: %s after SIGKILL of podrund: %+v, want the same running instance %s, restartCount 0", n, a, b.ContainerID)
		}
	}
}
