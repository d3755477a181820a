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
	wantLogs := filepath.Join(m.VolumeDir(pod.UID, "disk"), "logs", "p")
	if mounts[1].Source != wantLogs || mounts[1].Options[2] != "ro" {
		t.Fatalf("subPathExpr mount %+v, want source %s ro", mounts[1], wantLogs)
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
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.volumesDir(pod.UID)); !os.IsNotExist(err) {
		t.Fatalf("volumes remain: %v", err)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
}
