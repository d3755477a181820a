package robust

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestOrphansSweptAtBoot: podrund is SIGKILLed with a pod running and
// comes back without its store (lost, as when a corrupt store is moved
// aside). The pod's containers must not run on unseen: before adopting
// the stored pods the new podrund stops and removes them (the kubelet
// removes running pods it does not want), with the pod's sandbox, pod
// directory, logs and cgroup, and says so in its log. An active snapshot
// shaped like an instance's with no container (a create cut short) is
// removed too; one of another shape is not podrun's and stays.
func TestOrphansSweptAtBoot(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	pod := newPod(c, "lost", corev1.RestartPolicyAlways,
		[]corev1.Container{sidecar(shell("side", forever))}, shell("app", forever))
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "scratch",
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
		corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"})
	applyAll(t, c, pod)
	var running *corev1.Pod
	harness.Eventually(t, time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		running = listPods(t, c)["lost"]
		return isReady(running)
	}))
	uid := string(running.UID)
	leftovers := map[string]string{
		"sandbox": filepath.Join(d.State, "sandboxes", uid),
		"pod dir": filepath.Join(d.Root, "pods", uid),
		"logs":    filepath.Join(d.Root, "logs", fmt.Sprintf("%s_lost_%s", c.NS, uid)),
	}
	for what, p := range leftovers {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s of the running pod: %v", what, err)
		}
	}
	if len(podProcesses(uid)) == 0 {
		t.Fatal("no processes found in the running pod's cgroups")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	snapshotter := podrundSnapshotter(t, d)
	orphanKey, foreignKey := strings.Repeat("ab", 16), "not-podruns-snapshot"
	for _, key := range []string{orphanKey, foreignKey} {
		if out, err := env.Containerd.Ctr(ctx, d.Namespace, "snapshots", "--snapshotter", snapshotter, "prepare", key); err != nil {
			t.Fatal(err, out)
		}
	}
	t.Cleanup(func() {
		_, _ = env.Containerd.Ctr(context.Background(), d.Namespace, "snapshots", "--snapshotter", snapshotter, "rm", foreignKey)
	})

	if err := d.Stop(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(d.Root, "podrund.db")
	if err := os.Rename(db, db+".lost"); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatalf("podrund did not start without its store: %v", err)
	}

	if p := listPods(t, c); len(p) != 0 {
		t.Errorf("pods after the store was lost: %s", fmtPods(p))
	}
	if out, _ := env.Containerd.Ctr(ctx, d.Namespace, "containers", "ls", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left in containerd after the sweep:\n%s", out)
	}
	if procs := podProcesses(uid); len(procs) != 0 {
		t.Errorf("the orphaned pod's processes still run: %v", procs)
	}
	if dirs := harness.PodCgroupDirs("/sys/fs/cgroup", uid); len(dirs) != 0 {
		t.Errorf("the orphaned pod's cgroups remain: %v", dirs)
	}
	for what, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s of the orphaned pod remains at %s (%v)", what, p, err)
		}
	}
	out, _ := env.Containerd.Ctr(ctx, d.Namespace, "snapshots", "--snapshotter", snapshotter, "ls")
	if strings.Contains(out, orphanKey) {
		t.Errorf("the orphan snapshot %s was not removed:\n%s", orphanKey, out)
	}
	if !strings.Contains(out, foreignKey) {
		t.Errorf("a snapshot podrun did not make (%s) was removed:\n%s", foreignKey, out)
	}
	log, _ := os.ReadFile(d.LogPath)
	if !regexp.MustCompile(`removed a pod the store does not name.*` + regexp.QuoteMeta(uid)).Match(log) {
		t.Errorf("podrund's log does not say it removed pod %s:\n%s", uid, d.LogTail(30))
	}
}

// podProcesses lists the PIDs in the pod's cgroups (each is in one cgroup
// per hierarchy: listed once).
func podProcesses(uid string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, dir := range harness.PodCgroupDirs("/sys/fs/cgroup", uid) {
		for _, pid := range harness.CgroupProcs(dir) {
			if !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// podrundSnapshotter reads the snapshotter podrund chose from its log.
func podrundSnapshotter(t *testing.T, d *harness.Podrund) string {
	t.Helper()
	log, _ := os.ReadFile(d.LogPath)
	m := regexp.MustCompile(`"snapshotter":"([a-z]+)"`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("podrund's log does not name its snapshotter:\n%s", d.LogTail(20))
	}
	return string(m[1])
}
