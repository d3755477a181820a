package volumes

import (
	"context"
	"github.com/podrun/podrun/api"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeObjects is an in-memory ObjectSource.
type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f *fakeObjects) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.cms[ns+"/"+name]; ok {
		return cm.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (f *fakeObjects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func newTestManager(t *testing.T) (*Manager, *fakeObjects) {
	t.Helper()
	objs := &fakeObjects{cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	root := t.TempDir()
	t.Cleanup(func() {
		left, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
		for _, mnt := range left {
			t.Errorf("mount left behind: %s", mnt.Mountpoint)
			_ = unix.Unmount(mnt.Mountpoint, unix.MNT_DETACH)
		}
	})
	return NewManager(root, objs, zaptest.NewLogger(t)), objs
}

func newPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "pod-uid-1",
			Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{Volumes: vols},
	}
}

func i32(v int32) *int32 { return &v }

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

func TestConfigMapItemsModesAndRefresh(t *testing.T) {
	ctx := context.Background()
	m, objs := newTestManager(t)
	objs.cms["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"a": "A1", "b": "B1", "c": "C1"}}
	pod := newPod(corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
		DefaultMode:          i32(0o640),
		Items:                []corev1.KeyToPath{{Key: "a", Path: "dir/a.txt"}, {Key: "b", Path: "b", Mode: i32(0o600)}},
	}}})
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}}}
	mounts, err := m.Mounts(ctx, pod, c)
	if err != nil {
		t.Fatal(err)
	}
	dir := m.VolumeDir(pod.UID, "cfg")
	if len(mounts) != 1 || mounts[0].Source != dir || mounts[0].Destination != "/etc/cfg" ||
		strings.Join(mounts[0].Options, ",") != "rbind,rprivate,ro" {
		t.Fatalf("mounts %+v", mounts)
	}
	if got := readFile(t, filepath.Join(dir, "dir/a.txt")); got != "A1" {
		t.Fatalf("a = %q", got)
	}
	if got := mode(t, filepath.Join(dir, "dir/a.txt")).Perm(); got != 0o640 {
		t.Errorf("defaultMode: %o", got)
	}
	if got := mode(t, filepath.Join(dir, "b")).Perm(); got != 0o600 {
		t.Errorf("item mode: %o", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); !os.IsNotExist(err) {
		t.Errorf("unlisted key c projected: %v", err)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "b")); target != "..data/b" {
		t.Errorf("b links to %q", target)
	}
	before, _ := os.Readlink(filepath.Join(dir, dataDirName))

	// Unchanged object: nothing rewritten.
	if err := m.Refresh(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Readlink(filepath.Join(dir, dataDirName)); now != before {
		t.Fatalf("unchanged payload rewritten: %s -> %s", before, now)
	}
	// Re-applied object without key b: new data appears, b goes, the old payload dir too.
	objs.cms["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"a": "A2"}}
	pod.Spec.Volumes[0].ConfigMap.Optional = boolPtr(true)
	if err := m.Refresh(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "dir/a.txt")); got != "A2" {
		t.Fatalf("after refresh a = %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("stale link b remains: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, before)); !os.IsNotExist(err) {
		t.Errorf("old payload dir remains: %v", err)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("volume dir after Cleanup: %v", err)
	}
}

func boolPtr(b bool) *bool { return &b }

func TestMissingObjects(t *testing.T) {
	ctx := context.Background()
	m, objs := newTestManager(t)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "v", MountPath: "/v"}}}
	cm := newPod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}}}})
	if _, err := m.Mounts(ctx, cm, c); err == nil || !strings.Contains(err.Error(), `configmap "absent" not found`) {
		t.Fatalf("missing configmap: %v", err)
	}
	sec := newPod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}}})
	if _, err := m.Mounts(ctx, sec, c); err == nil || !strings.Contains(err.Error(), `secret "nope" not found`) {
		t.Fatalf("missing secret: %v", err)
	}
	sec.Spec.Volumes[0].Secret.Optional = boolPtr(true)
	if _, err := m.Mounts(ctx, sec, c); err != nil {
		t.Fatalf("optional missing secret: %v", err)
	}
	objs.cms["default/absent"] = &corev1.ConfigMap{Data: map[string]string{"x": "1"}}
	cm.Spec.Volumes[0].ConfigMap.Items = []corev1.KeyToPath{{Key: "y", Path: "y"}}
	if _, err := m.Mounts(ctx, cm, c); err == nil || !strings.Contains(err.Error(), `non-existent key "y"`) {
		t.Fatalf("missing key: %v", err)
	}
	_ = m.Cleanup(ctx, cm)
}

func TestSecretDefaultModeAndFSGroup(t *testing.T) {
	ctx := context.Background()
	m, objs := newTestManager(t)
	objs.secrets["default/s"] = &corev1.Secret{Data: map[string][]byte{"token": []byte("t0k")}}
	pod := newPod(
		corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		corev1.Volume{Name: "s4", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: i32(0o400)}}},
		corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "s", MountPath: "/s"}}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, filepath.Join(m.VolumeDir(pod.UID, "s"), "token")).Perm(); got != 0o644 {
		t.Errorf("secret default mode %o, want 644", got)
	}
	g := int64(2345)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &g}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "s4", MountPath: "/s4"}, {Name: "scratch", MountPath: "/scratch"}}
	if _, err := m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(m.VolumeDir(pod.UID, "s4"), "token")
	var st unix.Stat_t
	if err := unix.Stat(tok, &st); err != nil {
		t.Fatal(err)
	}
	if st.Gid != 2345 || os.FileMode(st.Mode).Perm() != 0o440 {
		t.Errorf("fsGroup secret: gid %d mode %o, want 2345 440", st.Gid, os.FileMode(st.Mode).Perm())
	}
	scratch := m.VolumeDir(pod.UID, "scratch")
	if err := unix.Stat(scratch, &st); err != nil {
		t.Fatal(err)
	}
	if st.Gid != 2345 || st.Mode&unix.S_ISGID == 0 || st.Mode&0o777 != 0o777 {
		t.Errorf("fsGroup emptyDir: gid %d mode %o", st.Gid, st.Mode)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
}

func TestDownwardAPIAndProjected(t *testing.T) {
	ctx := context.Background()
	m, objs := newTestManager(t)
	objs.cms["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	objs.secrets["default/sec"] = &corev1.Secret{Data: map[string][]byte{"pw": []byte("hunter2")}}
	pod := newPod(corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"},
				Items: []corev1.KeyToPath{{Key: "pw", Path: "secret/pw"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
				{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app",
					Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
			}}},
		}}}})
	pod.Spec.Containers = []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
		VolumeMounts: []corev1.VolumeMount{{Name: "all", MountPath: "/all"}}}}
	if _, err := m.Mounts(ctx, pod, &pod.Spec.Containers[0]); err != nil {
		t.Fatal(err)
	}
	dir := m.VolumeDir(pod.UID, "all")
	want := map[string]string{"k": "v", "secret/pw": "hunter2", "labels": "app=\"web\"\ntier=\"front\"",
		"name": "p", "app": "web", "mem": "64"}
	for p, v := range want {
		if got := readFile(t, filepath.Join(dir, p)); got != v {
			t.Errorf("%s = %q, want %q", p, got, v)
		}
	}
	// Changed labels are reflected by Refresh.
	pod.Labels["app"] = "api"
	if err := m.Refresh(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "app")); got != "api" {
		t.Errorf("after label change app = %q", got)
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
}

func TestResourceFieldValue(t *testing.T) {
	pod := newPod()
	pod.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
	}}}
	node := Allocatable{MilliCPU: 4000, MemoryBytes: 8 << 30}
	cases := []struct {
		res, divisor, want string
	}{
		{"requests.cpu", "", "1"},       // 250m rounded up to whole cores
		{"requests.cpu", "1m", "250"},   // in millicores
		{"limits.cpu", "", "4"},         // no limit: node allocatable
		{"limits.memory", "1Gi", "8"},   // no limit: node memory
		{"requests.memory", "1Mi", "0"}, // no request
	}
	for _, tc := range cases {
		ref := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.divisor != "" {
			ref.Divisor = resource.MustParse(tc.divisor)
		}
		got, err := ResourceFieldValue(pod, "c", ref, node)
		if err != nil || got != tc.want {
			t.Errorf("%s/%s = %q, %v; want %q", tc.res, tc.divisor, got, err, tc.want)
		}
	}
}

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ty := func(v corev1.HostPathType) *corev1.HostPathType { return &v }
	cases := []struct {
		path    string
		typ     *corev1.HostPathType
		wantErr string
	}{
		{filepath.Join(dir, "missing"), nil, ""},
		{dir, ty(corev1.HostPathDirectory), ""},
		{file, ty(corev1.HostPathDirectory), "is not a directory"},
		{filepath.Join(dir, "missing"), ty(corev1.HostPathDirectory), "is not a directory"},
		{filepath.Join(dir, "new/sub"), ty(corev1.HostPathDirectoryOrCreate), ""},
		{file, ty(corev1.HostPathDirectoryOrCreate), "is not a directory"},
		{file, ty(corev1.HostPathFile), ""},
		{dir, ty(corev1.HostPathFile), "is not a file"},
		{filepath.Join(dir, "newfile"), ty(corev1.HostPathFileOrCreate), ""},
		{filepath.Join(dir, "nodir/newfile"), ty(corev1.HostPathFileOrCreate), "create file"},
		{sock, ty(corev1.HostPathSocket), ""},
		{file, ty(corev1.HostPathSocket), "is not a socket file"},
		{"/dev/null", ty(corev1.HostPathCharDev), ""},
		{file, ty(corev1.HostPathCharDev), "is not a character device"},
		{"/dev/null", ty(corev1.HostPathBlockDev), "is not a block device"},
	}
	for _, tc := range cases {
		err := checkHostPath(&corev1.HostPathVolumeSource{Path: tc.path, Type: tc.typ})
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %v: err %v, want %q", tc.path, tc.typ, err, tc.wantErr)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "new/sub")); err != nil || !st.IsDir() {
		t.Errorf("DirectoryOrCreate did not create: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "newfile")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("FileOrCreate did not create: %v", err)
	}
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"POD": "p1", "NS": "default"}
	for in, want := range map[string]string{
		"logs/$(NS)/$(POD)": "logs/default/p1",
		"$$(POD)":           "$(POD)",
		"$(UNKNOWN)/x":      "$(UNKNOWN)/x",
		"a$b":               "a$b",
		"tail$(":            "tail$(",
	} {
		if got := api.Expand(in, api.MapLookup(vars)); got != want {
			t.Errorf("expand %q = %q, want %q", in, got, want)
		}
	}
}

func TestSecretOnTmpfsAndConfigMapSubPath(t *testing.T) {
	ctx := context.Background()
	m, objs := newTestManager(t)
	objs.secrets["default/s"] = &corev1.Secret{Data: map[string][]byte{"pw": []byte("x")}}
	objs.cms["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"app.conf": "port=80"}}
	pod := newPod(
		corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
	)
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "s", MountPath: "/s"},
		{Name: "cfg", MountPath: "/etc/app.conf", SubPath: "app.conf"},
	}}
	mounts, err := m.Mounts(ctx, pod, c)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(m.VolumeDir(pod.UID, "s"), &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Fatalf("secret volume not on tmpfs: type %x, %v", st.Type, err)
	}
	// subPath resolves the ..data links to the file itself (so, as under the
	// kubelet, a subPath mount does not see later updates).
	src := mounts[1].Source
	resolved, err := filepath.EvalSymlinks(filepath.Join(m.VolumeDir(pod.UID, "cfg"), "app.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if src != m.stagingPath(pod.UID, "cfg", "app", 1) || !sameFile(t, src, resolved) || readFile(t, src) != "port=80" {
		t.Fatalf("configMap subPath source %q, want the staging bind of %s", src, resolved)
	}
	// A re-created container gets the updated file: the stale bind is
	// replaced, not stacked (the prepared-instance fingerprint relies on it).
	objs.cms["default/cfg"] = &corev1.ConfigMap{Data: map[string]string{"app.conf": "port=81"}}
	if err := m.Refresh(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if mounts, err = m.Mounts(ctx, pod, c); err != nil {
		t.Fatal(err)
	}
	if n, _ := mountinfo.GetMounts(mountinfo.SingleEntryFilter(src)); readFile(t, mounts[1].Source) != "port=81" || len(n) != 1 {
		t.Fatalf("after the update: %q with %d mounts, want port=81 with 1", readFile(t, mounts[1].Source), len(n))
	}
	if err := m.Cleanup(ctx, pod); err != nil {
		t.Fatal(err)
	}
}
