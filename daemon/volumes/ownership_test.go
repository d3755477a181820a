package volumes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

func statOf(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustWrite(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), mode); err != nil {
		t.Fatal(err)
	}
	// A file the walk must not touch is root:root; one in a setgid
	// directory would inherit its group otherwise.
	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(p, uint32(mode)); err != nil { // Go's FileMode has no 04000
		t.Fatal(err)
	}
}

// hostTarget makes a root-only file and a 0700 directory outside the
// volume, as a container would aim planted links at.
func hostTarget(t *testing.T) (file, dir string) {
	t.Helper()
	outside := t.TempDir()
	file = filepath.Join(outside, "shadow")
	mustWrite(t, file, 0o600)
	dir = filepath.Join(outside, "etc")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return file, dir
}

func TestApplyFSGroupWalksTreeWithoutFollowingSymlinks(t *testing.T) {
	hostFile, hostDir := hostTarget(t)
	vol := filepath.Join(t.TempDir(), "vol")
	mustWrite(t, filepath.Join(vol, "a", "b", "data"), 0o600)
	mustWrite(t, filepath.Join(vol, "exe"), 0o4700)
	for name, target := range map[string]string{"file-link": hostFile, "dir-link": hostDir, "a/b/deep-link": hostFile} {
		if err := os.Symlink(target, filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A hard link to a host file (same filesystem): the inode is the
	// host's, so the walk must leave it.
	hard := filepath.Join(filepath.Dir(hostFile), "hard-target")
	mustWrite(t, hard, 0o600)
	if err := os.Link(hard, filepath.Join(vol, "hard")); err != nil {
		t.Fatal(err)
	}

	if err := applyFSGroup(vol, 2345, false, nil); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{hostFile, hostDir, hard} {
		st := statOf(t, p)
		if st.Gid != 0 || st.Uid != 0 {
			t.Errorf("%s: owner changed to %d:%d", p, st.Uid, st.Gid)
		}
		if perm := st.Mode & 0o7777; perm != 0o600 && perm != 0o700 {
			t.Errorf("%s: mode changed to %o", p, perm)
		}
	}
	for p, want := range map[string]uint32{
		vol:                                  0o2775, // MkdirAll's 0755 + group rwx + setgid
		filepath.Join(vol, "a"):              0o2775,
		filepath.Join(vol, "a", "b"):         0o2775,
		filepath.Join(vol, "a", "b", "data"): 0o660,
		filepath.Join(vol, "exe"):            0o4760, // setuid kept, as by the kubelet
	} {
		if st := statOf(t, p); st.Gid != 2345 || st.Mode&0o7777 != want {
			t.Errorf("%s: gid %d mode %o, want 2345 %o", p, st.Gid, st.Mode&0o7777, want)
		}
	}
	for _, l := range []string{"file-link", "dir-link", "a/b/deep-link"} {
		if st := statOf(t, filepath.Join(vol, l)); st.Mode&unix.S_IFMT != unix.S_IFLNK || st.Gid != 2345 {
			t.Errorf("%s: the link itself should take the group: mode %o gid %d", l, st.Mode, st.Gid)
		}
	}
}

func TestApplyFSGroupOnRootMismatch(t *testing.T) {
	onRoot := corev1.FSGroupChangeOnRootMismatch
	always := corev1.FSGroupChangeAlways
	vol := filepath.Join(t.TempDir(), "vol")
	inner := filepath.Join(vol, "inner")
	mustWrite(t, inner, 0o600)

	// Root not yet owned: OnRootMismatch walks.
	if err := applyFSGroup(vol, 2345, false, &onRoot); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, inner); st.Gid != 2345 || st.Mode&0o777 != 0o660 {
		t.Fatalf("first OnRootMismatch: inner gid %d mode %o, want 2345 660", st.Gid, st.Mode&0o777)
	}
	// Root matches: OnRootMismatch leaves the tree alone.
	if err := os.Chown(inner, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(inner, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := applyFSGroup(vol, 2345, false, &onRoot); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, inner); st.Gid != 0 || st.Mode&0o777 != 0o600 {
		t.Errorf("OnRootMismatch with a matching root walked: inner gid %d mode %o", st.Gid, st.Mode&0o777)
	}
	// A root without setgid is a mismatch.
	if err := os.Chmod(vol, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := applyFSGroup(vol, 2345, false, &onRoot); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, inner); st.Gid != 2345 {
		t.Errorf("OnRootMismatch without setgid on the root did not walk: inner gid %d", st.Gid)
	}
	// Always walks even when the root matches.
	if err := os.Chown(inner, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := applyFSGroup(vol, 2345, false, &always); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, inner); st.Gid != 2345 {
		t.Errorf("Always did not walk: inner gid %d", st.Gid)
	}
}

func TestApplyFSGroupRefusesSymlinkRoot(t *testing.T) {
	_, hostDir := hostTarget(t)
	link := filepath.Join(t.TempDir(), "vol")
	if err := os.Symlink(hostDir, link); err != nil {
		t.Fatal(err)
	}
	if err := applyFSGroup(link, 2345, false, nil); err == nil {
		t.Error("a volume root that is a symlink was walked")
	}
	if st := statOf(t, hostDir); st.Gid != 0 || st.Mode&0o7777 != 0o700 {
		t.Errorf("host dir changed: gid %d mode %o", st.Gid, st.Mode&0o7777)
	}
}

// fsGroupScratchPod is a pod with fsGroup 2345 and an emptyDir "scratch".
func fsGroupScratchPod() *corev1.Pod {
	g := int64(2345)
	pod := newPod(corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &g}
	return pod
}

// TestEmptyDirFSGroupOnlyAtSetUp: the walk runs when the volume is set up,
// not on each later container start (Mounts), where a running container
// could race it; Cleanup forgets the set-up.
func TestEmptyDirFSGroupOnlyAtSetUp(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pod := fsGroupScratchPod()
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/s"}}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	dir := m.VolumeDir(pod.UID, "scratch")
	if st := statOf(t, dir); st.Gid != 2345 || st.Mode&0o7777 != 0o2777 {
		t.Fatalf("set-up emptyDir: gid %d mode %o, want 2345 2777", st.Gid, st.Mode&0o7777)
	}
	// What a container left there after set-up, including a link to a
	// host file, is not walked by a container restart.
	hostFile, _ := hostTarget(t)
	mustWrite(t, filepath.Join(dir, "later"), 0o600)
	if err := os.Symlink(hostFile, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := m.Mounts(ctx, pod, c); err != nil {
			t.Fatal(err)
		}
	}
	if st := statOf(t, filepath.Join(dir, "later")); st.Gid != 0 || st.Mode&0o777 != 0o600 {
		t.Errorf("container restart walked the emptyDir: gid %d mode %o", st.Gid, st.Mode&0o777)
	}
	if st := statOf(t, hostFile); st.Gid != 0 || st.Mode&0o7777 != 0o600 {
		t.Errorf("host file changed: gid %d mode %o", st.Gid, st.Mode&0o7777)
	}
	// A new Manager (a podrund restart adopting the pod) does not walk either.
	m2 := NewManager(m.root, m.objects, nil)
	if _, err := m2.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, filepath.Join(dir, "later")); st.Gid != 0 {
		t.Errorf("re-adoption walked the emptyDir: gid %d", st.Gid)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.setUpMarker(pod.UID, "scratch")); !os.IsNotExist(err) {
		t.Errorf("set-up marker outlived Cleanup: %v", err)
	}
}

// TestEmptyDirWithoutMarkerNotWalked: a volume that exists without a
// set-up marker (an older podrund's running pod) gets the group on its
// root only; what containers put in it is not walked.
func TestEmptyDirWithoutMarkerNotWalked(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pod := fsGroupScratchPod()
	dir := m.VolumeDir(pod.UID, "scratch")
	hostFile, _ := hostTarget(t)
	mustWrite(t, filepath.Join(dir, "old"), 0o600)
	if err := os.Symlink(hostFile, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/s"}}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	if st := statOf(t, dir); st.Gid != 2345 || st.Mode&0o7777 != 0o2777 {
		t.Errorf("adopted emptyDir root: gid %d mode %o, want 2345 2777", st.Gid, st.Mode&0o7777)
	}
	if st := statOf(t, filepath.Join(dir, "old")); st.Gid != 0 || st.Mode&0o777 != 0o600 {
		t.Errorf("adopted emptyDir contents walked: gid %d mode %o", st.Gid, st.Mode&0o777)
	}
	if _, err := os.Stat(m.setUpMarker(pod.UID, "scratch")); err != nil {
		t.Errorf("no set-up marker: %v", err)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
}
