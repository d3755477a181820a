package sandbox

import (
	"fmt"
	"net/http"
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

// marks are unique sleep arguments that find a test's container
// processes on the host: "sleep MARK1" is container 1's (1..9).
type marks string

func newMarks() marks { return marks(strconv.FormatInt(100000+time.Now().UnixNano()%100000, 10)) }

func (m marks) arg(n int) string     { return string(m) + strconv.Itoa(n) }
func (m marks) sleep(n int) []string { return []string{"sleep", m.arg(n)} }
func (m marks) process(n int) int    { return processWithArgs("sleep " + m.arg(n)) }
func (m marks) processes(ns ...int) []int {
	pids := make([]int, len(ns))
	for i, n := range ns {
		pids[i] = m.process(n)
	}
	return pids
}

// groupedPod has a sidecar (1), an app (2) and an app (3) that fails once,
// then runs: its second instance must join the pod's shim too.
func groupedPod(c *harness.Client, m marks) {
	c.Apply(harness.Pod{Name: "grouped", NoSharedDir: true,
		Extra: "  volumes:\n  - name: data\n    emptyDir: {}\n",
		Inits: []harness.Container{{Name: "side", Sidecar: true, Command: m.sleep(1)}},
		Containers: []harness.Container{
			{Name: "a", Command: m.sleep(2)},
			{Name: "b", Command: []string{"sh", "-c", "[ -e /data/ran ] && exec sleep $0; touch /data/ran; exit 1", m.arg(3)},
				Extra: "    volumeMounts:\n    - name: data\n      mountPath: /data\n"},
		}}.YAML(c.HostDir))
}

// onePod is a pod of one app that sleeps with mark n.
func onePod(c *harness.Client, name, restartPolicy string, m marks, n int) {
	c.Apply(harness.Pod{Name: name, NoSharedDir: true, RestartPolicy: restartPolicy,
		Containers: []harness.Container{{Name: "app", Command: m.sleep(n)}}}.YAML(c.HostDir))
}

// shimOf waits until the containers marked ns all run, and wants them to
// have one parent, a runc shim, which it returns.
func shimOf(t *testing.T, m marks, ns ...int) int {
	t.Helper()
	var shim int
	harness.Eventually(t, 90*time.Second, func() string {
		parents := map[int]bool{}
		for _, n := range ns {
			pid := m.process(n)
			if pid == 0 {
				return fmt.Sprintf("container %d not running yet", n)
			}
			parents[parentOf(pid)] = true
		}
		if len(parents) != 1 {
			return fmt.Sprintf("containers %v have %d parent processes, want one shim: %v", ns, len(parents), parents)
		}
		for p := range parents {
			shim = p
		}
		return ""
	})
	if !isShim(shim) {
		t.Fatalf("the parent %d of containers %v is %q, not a shim", shim, ns, cmdline(shim))
	}
	return shim
}

// waitReaped waits until containerd holds only daemon d's n running
// containers: b's first instance is reaped (its container deleted) before
// the test stops containerd or kills the shim. A reap cut off by either is
// another matter than the shim's: retried later, it can outlive the pod's
// sandbox and leave the pod directory behind.
func waitReaped(t *testing.T, ctrd *harness.Containerd, d *harness.Podrund, n int) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, func() string {
		out, err := ctrd.Ctr(t.Context(), d.Namespace, "containers", "ls", "-q")
		if got := len(strings.Fields(out)); err != nil || got != n {
			return fmt.Sprintf("containerd holds %d containers, want the %d running ones (%v):\n%s", got, n, err, out)
		}
		return ""
	})
}

func isShim(pid int) bool { return strings.Contains(cmdline(pid), "containerd-shim") }

// waitShimGone waits until the shim process has exited.
func waitShimGone(t *testing.T, shim int, why string) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, func() string {
		if isShim(shim) {
			return fmt.Sprintf("shim %d still runs %s", shim, why)
		}
		return ""
	})
}

// restartsOf is the restart count of container name of pod.
func restartsOf(c *harness.Client, pod, name string) int32 {
	return harness.ContainerStatus(c.GetPod(pod), name).RestartCount
}

// TestOneShimPerPod: under the default shimGrouping (pod) every container
// of a pod, the sidecar, an app and an app's restarted instance, is
// served by one runc shim (the shim group annotation), another pod has a
// shim of its own, and a pod's shim goes with the pod while the other's
// stays. One shim per container cost 2.8 MiB each (BENCHMARKS.md).
func TestOneShimPerPod(t *testing.T) {
	c := env.Client(t)
	m := newMarks()
	groupedPod(c, m)
	onePod(c, "solo", "", m, 4)
	shim, solo := shimOf(t, m, 1, 2, 3), shimOf(t, m, 4)
	if shim == solo {
		t.Fatalf("two pods share shim %d under shimGrouping pod", shim)
	}
	if n := restartsOf(c, "grouped", "b"); n != 1 {
		t.Fatalf("b restarted %d times, want 1", n)
	}
	c.DeleteAndWait("grouped")
	waitShimGone(t, shim, "after its pod is gone")
	if !isShim(solo) || shimOf(t, m, 4) != solo {
		t.Fatalf("the other pod's shim %d went with the deleted pod's", solo)
	}
	c.DeleteAndWait("solo")
	waitShimGone(t, solo, "after its pod is gone")
}

// TestOneShimPerNode: under shimGrouping node every container of every pod
// runs in one shim, and that holds through what a shim lives through: a
// containerd restart and a podrund restart keep the shim and every
// container (nothing restarts; adoption finds each task as before), a pod
// created afterwards joins the same shim, deleting a pod keeps the shim
// for the others, and the shim exits once the last container is gone.
func TestOneShimPerNode(t *testing.T) {
	t.Parallel()
	ctrd := env.PrivateContainerd(t)
	d := env.PrivateDaemonWith(t, ctrd, "shimGrouping: node\n")
	c := env.ClientOn(t, d)
	m := newMarks()
	groupedPod(c, m)
	onePod(c, "second", "", m, 4)
	shim := shimOf(t, m, 1, 2, 3, 4)
	if n := restartsOf(c, "grouped", "b"); n != 1 {
		t.Fatalf("b restarted %d times, want 1", n)
	}
	pids := m.processes(1, 2, 3, 4)
	waitReaped(t, ctrd, d, len(pids))

	if err := ctrd.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := ctrd.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, func() string {
		if code, body := c.REST(http.MethodGet, "/readyz", "", nil); code != http.StatusOK {
			return fmt.Sprintf("/readyz %d after containerd's restart: %s", code, body)
		}
		return ""
	})
	if err := d.Restart(t.Context(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	onePod(c, "third", "", m, 5)
	if got := shimOf(t, m, 1, 2, 3, 4, 5); got != shim {
		t.Fatalf("after containerd's and podrund's restarts the containers' shim is %d, was %d", got, shim)
	}
	if got := m.processes(1, 2, 3, 4); !slices.Equal(got, pids) {
		t.Errorf("the containers' processes are %v, were %v: a restart restarted containers", got, pids)
	}
	for _, r := range []struct {
		pod, container string
		want           int32
	}{{"grouped", "side", 0}, {"grouped", "a", 0}, {"grouped", "b", 1}, {"second", "app", 0}} {
		if n := restartsOf(c, r.pod, r.container); n != r.want {
			t.Errorf("%s/%s restartCount %d after the restarts, want %d", r.pod, r.container, n, r.want)
		}
	}

	c.DeleteAndWait("grouped")
	if got := shimOf(t, m, 4, 5); got != shim {
		t.Fatalf("after a pod's deletion the others' shim is %d, was %d", got, shim)
	}
	c.DeleteAndWait("second")
	if !isShim(shim) {
		t.Fatalf("shim %d exited while pod third still runs in it", shim)
	}
	c.DeleteAndWait("third")
	waitShimGone(t, shim, "after the last pod is gone")
}

// TestNodeShimKilled: under shimGrouping node a SIGKILLed shim takes
// every pod's containers with it. containerd reports each of its tasks
// as exited once the shim is gone, so podrund sees every pod's loss and
// restarts the containers by each pod's restart policy (R14 does not
// apply: the pod's namespaces are podrund's, not the shim's), all in one
// new shim; a Never pod ends Failed. No process of the old containers is
// left (reparented to init, they would run on unseen), and the leak check
// after the pods are deleted finds nothing.
func TestNodeShimKilled(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemonWith(t, env.Containerd, "shimGrouping: node\n")
	c := env.ClientOn(t, d)
	m := newMarks()
	groupedPod(c, m)
	onePod(c, "onfailure", "OnFailure", m, 4)
	onePod(c, "never", "Never", m, 5)
	shim := shimOf(t, m, 1, 2, 3, 4, 5)
	old := m.processes(1, 2, 3, 4, 5)
	waitReaped(t, env.Containerd, d, len(old))
	if err := syscall.Kill(shim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, time.Minute, func() string {
		for i, pid := range old {
			if strings.Contains(cmdline(pid), "sleep "+m.arg(i+1)) {
				return fmt.Sprintf("container %d's process %d (parent %d) still runs after its shim was killed", i+1, pid, parentOf(pid))
			}
		}
		return ""
	})
	want := []struct {
		pod, container string
		restarts       int32
	}{{"grouped", "side", 1}, {"grouped", "a", 1}, {"grouped", "b", 2}, {"onfailure", "app", 1}}
	harness.Eventually(t, 2*time.Minute, func() string {
		for _, w := range want {
			s := harness.ContainerStatus(c.GetPod(w.pod), w.container)
			if s.RestartCount != w.restarts || s.State.Running == nil {
				return fmt.Sprintf("%s/%s: restartCount %d, %s; want %d and running", w.pod, w.container,
					s.RestartCount, harness.StateString(s.State), w.restarts)
			}
		}
		if p := c.GetPod("never"); p.Status.Phase != corev1.PodFailed {
			return fmt.Sprintf("pod never is %s, want Failed", p.Status.Phase)
		}
		return ""
	})
	if s := harness.ContainerStatus(c.GetPod("never"), "app").State.Terminated; s == nil || s.ExitCode == 0 {
		t.Errorf("never/app after its shim was killed: %+v, want terminated with a non-zero code", s)
	} else {
		t.Logf("never/app after its shim was killed: exit code %d, reason %s", s.ExitCode, s.Reason)
	}
	if again := shimOf(t, m, 1, 2, 3, 4); again == shim {
		t.Errorf("the restarted containers run in the killed shim's pid %d", shim)
	}
	for _, pod := range []string{"grouped", "onfailure", "never"} {
		c.DeleteAndWait(pod)
	}
}
func processWithArgs(args string) int {
	if pids := processesWithArgs(args); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// processesWithArgs lists the host's processes whose command line
// contains args.
func processesWithArgs(args string) []int {
	var pids []int
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err == nil && strings.Contains(cmdline(pid), args) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func parentOf(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
