package sandbox

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// cgroupV2 reports whether the host runs the unified hierarchy only.
func cgroupV2(t *testing.T) bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Fatalf("statfs /sys/fs/cgroup: %v", err)
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC
}

// TestCgroupLimits: requests and limits reach the container's own cgroup
// files (CPU shares/weight, CFS quota, memory limit), and the container's
// cgroup lies under the per-pod parent /podrun/pod<uid>.
func TestCgroupLimits(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	p := applyReady(t, c, podOf("limits", 1, nil, busybox("app", forever,
		"resources: {requests: {cpu: 500m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}")), "limits")
	wantContains(t, "/proc/self/cgroup", sh(t, c, "limits", "app", "cat /proc/self/cgroup"), "/podrun/pod"+string(p.UID)+"/")
	if cgroupV2(t) {
		want(t, "cpu.max", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/cpu.max"), "50000 100000")
		want(t, "memory.max", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/memory.max"), "67108864")
		want(t, "cpu.weight (shares 512)", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/cpu.weight"), "20")
	} else {
		want(t, "cpu.shares", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/cpu/cpu.shares"), "512")
		want(t, "cpu.cfs_quota_us", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us"), "50000")
		want(t, "cpu.cfs_period_us", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us"), "100000")
		want(t, "memory.limit_in_bytes", sh(t, c, "limits", "app", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"), "67108864")
	}
	deletePod(t, c, "limits")
}

// oomCommand allocates 64 MiB in one buffer (dd's block) in a 16 MiB cgroup.
const oomCommand = `["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=64M count=1"]`

// TestOOMKilled: a container over its memory limit is OOM-killed and shows
// as terminated with reason OOMKilled (R86) and an event; for a plain init
// container that is a failure, so a restartPolicy Never pod fails.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.PodManifest("oom", `
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.28
    command: `+oomCommand+`
    resources: {limits: {memory: 16Mi}}
`) + "---\n" + harness.PodManifest("oom-init", `
  restartPolicy: Never
  initContainers:
  - name: hog
    image: busybox:1.28
    command: `+oomCommand+`
    resources: {limits: {memory: 16Mi}}
  containers:
  - name: app
    image: busybox:1.28
    command: ["true"]
`))
	p := c.WaitFor("oom", "Failed", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if s := status(p, "hog"); s == nil || s.State.Terminated == nil || s.State.Terminated.Reason != "OOMKilled" || s.State.Terminated.ExitCode != 137 {
		t.Errorf("oom: hog status %+v; want terminated OOMKilled exit 137", s)
	}
	p = c.WaitFor("oom-init", "Failed", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if s := status(p, "hog"); s == nil || s.State.Terminated == nil || s.State.Terminated.Reason != "OOMKilled" {
		t.Errorf("oom-init: init hog status %+v; want terminated OOMKilled", s)
	}
	if s := status(p, "app"); s == nil || s.State.Running != nil || s.State.Terminated != nil {
		t.Errorf("oom-init: app must never start after the init container's OOM kill: %+v", s)
	}
	for _, pod := range []string{"oom", "oom-init"} {
		found := ""
		for _, e := range c.Events() {
			if e.InvolvedObject.Name == pod && strings.Contains(e.Reason+e.Message, "OOM") {
				found = e.Reason + ": " + e.Message
			}
		}
		if found == "" {
			t.Errorf("no OOM event for pod %s; events: %v", pod, c.Events())
		} else {
			t.Logf("%s: event %s", pod, found)
		}
	}
	deletePod(t, c, "oom")
	deletePod(t, c, "oom-init")
}
