package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

func emptyDirPod() *corev1.Pod {
	return newPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
}

// hostWithMarker is a host directory outside every volume holding the
// file "marker" ("host"), which a subPath mount must never show.
func hostWithMarker(t *testing.T) string {
	t.Helper()
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "marker"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	return host
}

// TestSubPathSymlinksStayInVolume: a symlink planted in the volume never
// makes a subPath mount show the host. Symlinks are evaluated inside the
// volume first (so ones staying inside work, as under the kubelet), and
// ".." is refused.
func TestSubPathSymlinksStayInVolume(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pod := emptyDirPod()
	host := hostWithMarker(t)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	vol := m.VolumeDir(pod.UID, "data")
	if err := os.MkdirAll(filepath.Join(vol, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"out": host, "inside": "real"} {
		if err := os.Symlink(target, filepath.Join(vol, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"out", "out/marker", "inside", "a/../out"} {
		c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/d", SubPath: sub}}
		mounts, err := m.Mounts(ctx, pod, c)
		if strings.Contains(sub, "..") {
			if err == nil {
				t.Errorf("subPath %q accepted", sub)
			}
			continue
		}
		if err != nil {
			if sub == "inside" {
				t.Errorf("subPath through an in-volume symlink: %v", err)
			}
			continue
		}
		if strings.HasPrefix(sub, "out") {
			t.Errorf("subPath %q through a symlink out of the volume accepted (as %s); the kubelet refuses it", sub, mounts[0].Source)
		}
		if _, err := os.Stat(filepath.Join(mounts[0].Source, "marker")); err == nil || readFileOr(mounts[0].Source) == "host" {
			t.Fatalf("subPath %q shows the host directory", sub)
		}
		if sub == "inside" && !sameFile(t, mounts[0].Source, filepath.Join(vol, "real")) {
			t.Errorf("subPath inside: not the volume's real directory")
		}
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "marker")); err != nil {
		t.Fatalf("Cleanup touched the host directory: %v", err)
	}
}

func readFileOr(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// TestSubPathExchangeRace is the CVE-2021-25741 attack at the unit level:
// while a goroutine exchanges the subPath directory with a symlink to a
// host directory (renameat2 RENAME_EXCHANGE, as fast as it can), every
// subPath mount either fails or shows the volume's directory, never the host.
func TestSubPathExchangeRace(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	pod := emptyDirPod()
	host := hostWithMarker(t)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d", SubPath: "sub"}}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	vol := m.VolumeDir(pod.UID, "data")
	if err := os.Symlink(host, filepath.Join(vol, "swap")); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			_ = unix.Renameat2(unix.AT_FDCWD, filepath.Join(vol, "sub"), unix.AT_FDCWD, filepath.Join(vol, "swap"), unix.RENAME_EXCHANGE)
		}
	}()
	const tries = 300
	seen, failed := 0, 0
	for range tries {
		mounts, err := m.Mounts(ctx, pod, c)
		if err != nil {
			failed++
			continue
		}
		if _, err := os.Stat(filepath.Join(mounts[0].Source, "marker")); err == nil {
			seen++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d tries: %d refused, %d showed the host directory", tries, failed, seen)
	if seen > 0 {
		t.Fatalf("host directory bind-mounted in %d of %d tries", seen, tries)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(host, "marker")); err != nil {
		t.Fatalf("Cleanup touched the host directory: %v", err)
	}
}

// TestHostPathBeneathPrefix: with a policy prefix, hostPath volumes are
// opened beneath it with no symlink in any component, created fd-relative,
// type-checked on what was opened, and forced read-only by a ReadOnly prefix.
func TestHostPathBeneathPrefix(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	prefix, roPrefix := t.TempDir(), t.TempDir()
	m := NewManager(root, &fakeObjects{}, zaptest.NewLogger(t),
		WithHostPathPrefixes(HostPathPrefix{Prefix: prefix}, HostPathPrefix{Prefix: roPrefix + "/", ReadOnly: true}))
	if err := os.Symlink("/", filepath.Join(prefix, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(prefix, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "dir", "keep"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	ty := func(v corev1.HostPathType) *corev1.HostPathType { return &v }
	cases := []struct {
		path    string
		typ     *corev1.HostPathType
		sub     string
		wantErr string
		wantRO  bool
	}{
		{path: prefix + "/escape", wantErr: "symlink"},
		{path: prefix + "/escape/etc", wantErr: "symlink"},
		{path: prefix + "/escape/etc/new", typ: ty(corev1.HostPathDirectoryOrCreate), wantErr: "symlink"},
		{path: prefix + "/escape/etc/shadow", typ: ty(corev1.HostPathFile), wantErr: "symlink"},
		{path: prefix + "/escape-file", typ: ty(corev1.HostPathFileOrCreate)},
		{path: "/etc", wantErr: "not under a path allowed"},
		{path: prefix + "/../etc", wantErr: "not under a path allowed"},
		{path: prefix + "/dir", typ: ty(corev1.HostPathDirectory)},
		{path: prefix + "/dir", typ: ty(corev1.HostPathFile), wantErr: "is not a file"},
		{path: prefix + "/dir", sub: "keep"},
		{path: prefix + "/new/sub", typ: ty(corev1.HostPathDirectoryOrCreate)},
		{path: prefix + "/missing", typ: ty(corev1.HostPathDirectory), wantErr: "hostPath type check failed"},
		{path: prefix + "/missing", wantErr: "no such file"},
		{path: roPrefix, wantRO: true},
	}
	for i, tc := range cases {
		pod := newPod(corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: tc.path, Type: tc.typ}}})
		c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "h", MountPath: "/h", SubPath: tc.sub}}}
		mounts, err := m.Mounts(ctx, pod, c)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%d %s: err %v, want %q", i, tc.path, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%d %s: %v", i, tc.path, err)
		default:
			want := filepath.Join(tc.path, tc.sub)
			if mounts[0].Source != m.stagingPath(pod.UID, "h", "app", 0) || !sameFile(t, mounts[0].Source, want) {
				t.Errorf("%d: mount %+v is not the staging bind of %s", i, mounts[0], want)
			}
			if ro := mounts[0].Options[2] == "ro"; ro != tc.wantRO {
				t.Errorf("%d: read-only %v, want %v", i, ro, tc.wantRO)
			}
		}
		if err := m.Cleanup(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	if info, err := os.Stat(filepath.Join(prefix, "new", "sub")); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate: %v %v", info, err)
	}
	if _, err := os.Stat("/etc/new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DirectoryOrCreate through the symlink created /etc/new")
	}
	if _, err := os.Stat(filepath.Join(prefix, "dir", "keep")); err != nil {
		t.Errorf("Cleanup touched the hostPath directory: %v", err)
	}
}
