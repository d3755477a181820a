package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestEmptyDirTmpfsAndSubPaths runs as root: a memory emptyDir is a tmpfs of
// sizeLimit, survives repeated Mounts (container restarts) with its
// contents, and Cleanup unmounts and deletes it.
func TestEmptyDirTmpfsAndSubPaths(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	size := resource.MustParse("4Mi")
	pod := newPod(
		corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
		corev1.Volume{Name: "disk", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	)
	c := &corev1.Container{Name: "app",
		Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "mem", MountPath: "/cache"},
			{Name: "disk", MountPath: "/logs", SubPathExpr: "logs/$(POD_NAME)", ReadOnly: true},
			{Name: "disk", MountPath: "/escape", SubPath: "../../etc"},
		}}
	if _, err := m.Mounts(ctx, pod, c); err == nil || !strings.Contains(err.Error(), "inside the volume") {
		t.Fatalf("subPath escaping the volume accepted: %v", err)
	}
	c.VolumeMounts = c.VolumeMounts[:2]
	mounts, err := m.Mounts(ctx, pod, c)
	if err != nil {
		t.Fatal(err)
	}
	mem := m.VolumeDir(pod.UID, "mem")
	var st unix.Statfs_t
	if err := unix.Statfs(mem, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC || st.Blocks*uint64(st.Bsize) != 4<<20 {
		t.Fatalf("memory emptyDir: fs type %x, size %d", st.Type, st.Blocks*uint64(st.Bsize))
	}
	// The subPath is bound by descriptor onto its staging path, which runc gets.
	wantLogs := filepath.Join(m.VolumeDir(pod.UID, "disk"), "logs", "p")
	if mounts[1].Source != m.stagingPath(pod.UID, "disk", "app", 1) || mounts[1].Options[2] != "ro" || !sameFile(t, mounts[1].Source, wantLogs) {
		t.Fatalf("subPathExpr mount %+v, want staging bind of %s ro", mounts[1], wantLogs)
	}
	// Created as the kubelet's doSafeMakeDir: with the emptyDir's mode (0777).
	if info, err := os.Stat(wantLogs); err != nil || info.Mode().Perm() != 0o777 {
		t.Fatalf("created subPath: %v %v, want mode 0777", info, err)
	}
	if err := os.WriteFile(filepath.Join(mem, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A restarted container gets the same volume, contents intact, one tmpfs.
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mem, "keep")); err != nil {
		t.Fatalf("contents lost across Mounts: %v", err)
	}
	if n, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mem)); len(n) != 1 {
		t.Fatalf("%d mounts on %s, want 1", len(n), mem)
	}
	if n, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(mounts[1].Source)); len(n) != 1 {
		t.Fatalf("%d mounts on %s after a restart, want 1", len(n), mounts[1].Source)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.volumesDir(pod.UID)); !os.IsNotExist(err) {
		t.Fatalf("volumes remain: %v", err)
	}
	if _, err := os.Stat(m.subpathsDir(pod.UID)); !os.IsNotExist(err) {
		t.Fatalf("subPath staging remains: %v", err)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
