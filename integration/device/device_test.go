package device

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
	"github.com/podrun/podrun/integration/testimage"
	corev1 "k8s.io/api/core/v1"
)

const annotation = "podrun.io/manifest-file"

// device is a podrund of the test's own with its two directories.
type device struct {
	t                 *testing.T
	c                 *harness.Client
	manifests, images string
}

// newDevice makes the directories (prepare fills them before the start)
// and starts podrund on them.
func newDevice(t *testing.T, prepare func(dv *device)) *device {
	base, err := os.MkdirTemp(env.Base, "device")
	if err != nil {
		t.Fatal(err)
	}
	dv := &device{t: t, manifests: filepath.Join(base, "manifests"), images: filepath.Join(base, "images")}
	if prepare != nil {
		prepare(dv)
	}
	d := env.PrivateDaemonWith(t, env.Containerd, fmt.Sprintf("manifestDir: %s\nimageDir: %s\n", dv.manifests, dv.images))
	dv.c = env.ClientOn(t, d)
	return dv
}

// write puts a manifest in place as editors and config tools do: written
// to a temporary name, then renamed over the old file.
func (dv *device) write(name, content string) string {
	dv.t.Helper()
	if err := os.MkdirAll(dv.manifests, 0o755); err != nil {
		dv.t.Fatal(err)
	}
	path := filepath.Join(dv.manifests, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		dv.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		dv.t.Fatal(err)
	}
	return path
}

// fileEvents are the events about manifest files or image archives
// (namespace default) with reason, and their summed counts.
func (dv *device) fileEvents(reason, file string) (n int32, msgs []string) {
	dv.t.Helper()
	out, errOut, code := dv.c.Podctl("get", "events", "-n", "default", "-o", "json")
	if code != 0 {
		dv.t.Fatalf("get events: %s", errOut)
	}
	var l corev1.EventList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		dv.t.Fatal(err)
	}
	for _, e := range l.Items {
		if e.Reason == reason && e.InvolvedObject.Name == filepath.Base(file) {
			n += e.Count
			msgs = append(msgs, e.Message)
		}
	}
	return n, msgs
}

func (dv *device) waitFileEvent(reason, file, part string) string {
	dv.t.Helper()
	var msgs []string
	harness.Eventually(dv.t, time.Minute, func() string {
		_, msgs = dv.fileEvents(reason, file)
		for _, m := range msgs {
			if strings.Contains(m, part) {
				return ""
			}
		}
		return fmt.Sprintf("no %s event about %s containing %q; have %q", reason, file, part, msgs)
	})
	for _, m := range msgs {
		if strings.Contains(m, part) {
			return m
		}
	}
	return ""
}

// pod is the pod or nil when it is gone.
func (dv *device) pod(name string) *corev1.Pod {
	out, errOut, code := dv.c.Podctl("get", "pod", name, "-o", "json")
	if code != 0 {
		if strings.Contains(errOut, "not found") {
			return nil
		}
		dv.t.Fatalf("get pod %s: %s", name, errOut)
	}
	var p corev1.Pod
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		dv.t.Fatal(err)
	}
	return &p
}

func (dv *device) waitRunning(name string, not string) *corev1.Pod {
	dv.t.Helper()
	var p *corev1.Pod
	harness.Eventually(dv.t, 2*time.Minute, func() string {
		p = dv.pod(name)
		switch {
		case p == nil:
			return "pod " + name + " not created"
		case string(p.UID) == not:
			return "pod " + name + " not replaced yet"
		case p.Status.Phase != corev1.PodRunning:
			return fmt.Sprintf("pod %s is %s", name, p.Status.Phase)
		}
		return ""
	})
	return p
}

// appManifest is a ConfigMap and a pod with a sidecar that mounts it.
func appManifest(ns, greeting string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: app-conf, namespace: %[1]s}
data: {greeting: %[2]s}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: %[1]s}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: conf
    configMap: {name: app-conf}
  initContainers:
  - name: proxy
    image: busybox:1.28
    restartPolicy: Always
    command: [sleep, "3600"]
  containers:
  - name: app
    image: busybox:1.28
    command: [sh, -c, "echo %[2]s from $(cat /conf/greeting); exec sleep 3600"]
    volumeMounts:
    - {name: conf, mountPath: /conf}
`, ns, greeting)
}

// TestManifestDirectoryLifecycle: a directory created after the start is
// watched; a file renamed in is applied once, a change replaces the pod,
// a bad file is reported without touching the rest, an API write is
// refused unless forced, and a removed file takes its objects along.
func TestManifestDirectoryLifecycle(t *testing.T) {
	dv := newDevice(t, nil)
	ns := dv.c.NS
	path := dv.write("app.yaml", appManifest(ns, "hello"))
	first := dv.waitRunning("app", "")
	if first.Annotations[annotation] != path {
		t.Fatalf("pod annotations %v, want %s=%s", first.Annotations, annotation, path)
	}
	harness.Eventually(t, time.Minute, func() string {
		if logs := dv.c.Logs("app", "app"); !strings.Contains(logs, "hello from hello") {
			return "app has not printed its ConfigMap: " + logs
		}
		return ""
	})
	wide := dv.c.MustPodctl("get", "pod", "app", "-o", "wide")
	desc := dv.c.MustPodctl("describe", "pod", "app")
	if !strings.Contains(wide, "SOURCE") || !strings.Contains(wide, "file "+path) ||
		!strings.Contains(desc, "Source:") || !strings.Contains(desc, "file "+path) {
		t.Errorf("the source is not shown:\n%s\n%s", wide, desc)
	}

	// A change renamed over the file: one apply, the pod replaced.
	dv.write("app.yaml", appManifest(ns, "bonjour"))
	second := dv.waitRunning("app", string(first.UID))
	time.Sleep(time.Second) // room for a second, wrong pass to show
	if n, msgs := dv.fileEvents("ManifestApplied", path); n != 2 {
		t.Fatalf("ManifestApplied events for two renames: %d %q", n, msgs)
	}

	// A bad file: named with its line, the rest untouched.
	bad := dv.write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: "+ns+"}\nspec: [\n")
	dv.waitFileEvent("ManifestFailed", bad, bad)
	invalid := dv.write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: "+ns+"}\n"+
		"spec:\n  containers:\n  - name: c\n    image: busybox:1.28\n    imagePullPolicy: Sometimes\n")
	msg := dv.waitFileEvent("ManifestFailed", invalid, "imagePullPolicy")
	if !strings.Contains(msg, "spec.containers[0].imagePullPolicy") {
		t.Errorf("the refusal does not name the field: %q", msg)
	}
	if p := dv.pod("app"); p == nil || p.UID != second.UID {
		t.Fatalf("a bad file touched another file's pod: %v", p)
	}
	if !strings.Contains(dv.c.Daemon.LogGrep("bad.yaml", 5), "imagePullPolicy") {
		t.Errorf("no log line names the bad file and field")
	}

	// API writes to a file's objects: refused, unless forced.
	_, errOut, code := dv.c.Podctl("delete", "pod", "app", "--wait=false")
	if code == 0 || !strings.Contains(errOut, `pod "app" is managed by `+path+"; edit that file, or use --force") {
		t.Fatalf("unforced delete: exit %d %s", code, errOut)
	}
	copyPath := filepath.Join(t.TempDir(), "conf.yaml")
	if err := os.WriteFile(copyPath, []byte(strings.Split(appManifest(ns, "api"), "---\n")[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := dv.c.Podctl("apply", "-f", copyPath); code == 0 || !strings.Contains(errOut, "is managed by") {
		t.Fatalf("unforced apply: exit %d %s", code, errOut)
	}
	dv.c.MustPodctl("apply", "--force", "-f", copyPath)

	// The file goes: its pod goes (the ConfigMap is the API's since the forced apply).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 2*time.Minute, func() string {
		if p := dv.pod("app"); p != nil {
			return "pod app still there: " + string(p.Status.Phase)
		}
		return ""
	})
	if second.Annotations[annotation] != path {
		t.Errorf("replaced pod annotations %v", second.Annotations)
	}

	// An archive dropped in the image directory (created only now) is
	// imported, and a manifest can then run its image without a pull.
	must(t, os.MkdirAll(dv.images, 0o755))
	tmp := filepath.Join(dv.images, ".late.tar.gz")
	writeGzipImage(t, tmp, testimage.Variant("example.com/device/late:1"))
	late := filepath.Join(dv.images, "late.tar.gz")
	must(t, os.Rename(tmp, late))
	dv.waitFileEvent("ImageArchiveImported", late, "example.com/device/late:1")
	dv.write("late.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: late, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "example.com/device/late:1", imagePullPolicy: Never, command: [sleep, "3600"]}
`, ns))
	dv.waitRunning("late", "")
}

// TestBootFromFullDirectories: a podrund that boots with an empty store
// and full directories imports the archives (one made with ctr images
// export, one built and gzipped here), refuses hostile ones cleanly,
// applies ConfigMaps before the pods that mount them and runs every pod
// with imagePullPolicy Never; restarted, it skips the unchanged archives.
func TestBootFromFullDirectories(t *testing.T) {
	var hostile []string
	var podFile, confFile, appArchive string
	dv := newDevice(t, func(dv *device) {
		must(t, os.MkdirAll(dv.images, 0o755))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		bb := filepath.Join(dv.images, "busybox.tar")
		if out, err := env.Containerd.Ctr(ctx, env.Daemon.Namespace, "images", "export", bb, "docker.io/library/busybox:1.28"); err != nil {
			t.Fatalf("ctr images export: %v %s", err, out)
		}
		appArchive = filepath.Join(dv.images, "app.tar.gz")
		writeGzipImage(t, appArchive, testimage.Variant("example.com/device/app:1"))
		hostile = writeHostileArchives(t, dv.images)
		ns := harness.NamespaceFor(t)
		// The pod's file sorts before its ConfigMap's: boot order, not
		// file order, puts the ConfigMap first.
		podFile = dv.writeRaw("a-pod.yaml", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: gateway, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: conf, configMap: {name: z-conf}}
  containers:
  - name: gw
    image: example.com/device/app:1
    imagePullPolicy: Never
    envFrom: [{configMapRef: {name: z-conf}}]
    command: [sh, -c, "echo $MODE; exec sleep 3600"]
    volumeMounts: [{name: conf, mountPath: /conf}]
`, ns))
		confFile = dv.writeRaw("z-conf.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: z-conf, namespace: %s}\ndata: {MODE: edge}\n", ns))
	})
	if dv.pod("gateway") == nil {
		t.Fatal("podrund was Ready before its first manifest pass applied the pod")
	}
	p := dv.waitRunning("gateway", "")
	if len(dv.c.EventsMatching(harness.EventFilter{Object: "gateway", Type: "Warning"})) > 0 {
		t.Errorf("the boot-time pod had warnings: %s", harness.DescribeEvents(dv.c.EventsMatching(harness.EventFilter{Object: "gateway"})))
	}
	log := dv.c.Daemon.LogGrep("manifest object applied", 20)
	if c, g := strings.Index(log, "ConfigMap "+dv.c.NS+"/z-conf"), strings.Index(log, "Pod "+dv.c.NS+"/gateway"); c < 0 || g < 0 || c > g {
		t.Errorf("the ConfigMap (%s) was not applied before the pod that mounts it (%s):\n%s", confFile, podFile, log)
	}
	dv.waitFileEvent("ImageArchiveImported", appArchive, "example.com/device/app:1")
	for _, h := range hostile {
		t.Logf("refused: %s", dv.waitFileEvent("ImageArchiveFailed", h, h))
	}
	assertNoEscape(t)
	// The bomb was streamed, never held: podrund's peak resident memory
	// stays below the bomb's expanded size.
	if hwm := peakRSS(t, dv.c.Daemon.PID()); hwm >= 100<<20 {
		t.Errorf("podrund peaked at %d MiB resident over a 100 MiB gzip bomb", hwm>>20)
	} else {
		t.Logf("podrund peak RSS after the boot with a 100 MiB gzip bomb: %d MiB", hwm>>20)
	}

	// Restarted: the archives are as imported, and are not read again.
	d := dv.c.Daemon
	before := strings.Count(d.LogGrep("image archive unchanged; skipped", 1000), "app.tar.gz")
	refusedBefore := strings.Count(d.LogGrep("refused before and unchanged; skipped", 1000), "refused before")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Restart(ctx, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if after := strings.Count(d.LogGrep("image archive unchanged; skipped", 1000), "app.tar.gz"); after != before+1 {
		t.Fatalf("app.tar.gz skipped %d times after the restart (before %d):\n%s", after, before, d.LogTail(60))
	}
	// The hostile archives are not read again either.
	if n := strings.Count(d.LogGrep("refused before and unchanged; skipped", 1000), "refused before") - refusedBefore; n != len(hostile) {
		t.Errorf("%d refused archives skipped after the restart, want %d:\n%s", n, len(hostile), d.LogTail(60))
	}
	if n, _ := dv.fileEvents("ImageArchiveImported", appArchive); n != 1 {
		t.Errorf("app.tar.gz imported %d times", n)
	}
	if q := dv.pod("gateway"); q == nil || q.UID != p.UID || q.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("the restart's manifest pass disturbed the pod: %v", q)
	}
	for _, f := range []string{podFile, confFile} {
		must(t, os.Remove(f))
	}
	harness.Eventually(t, 2*time.Minute, func() string {
		if dv.pod("gateway") != nil {
			return "pod gateway still there after its file went"
		}
		return ""
	})
}

func (dv *device) writeRaw(name, content string) string {
	must(dv.t, os.MkdirAll(dv.manifests, 0o755))
	path := filepath.Join(dv.manifests, name)
	must(dv.t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func writeGzipImage(t *testing.T, path string, spec testimage.Spec) {
	f, err := os.Create(path)
	must(t, err)
	zw := gzip.NewWriter(f)
	must(t, testimage.Write(zw, spec))
	must(t, zw.Close())
	must(t, f.Close())
}

// escapeMarker is the name hostile archive members aim at outside the
// content store.
const escapeMarker = "podrun-device-escape"

// writeHostileArchives writes a tar whose members climb out with ../ and
// absolute paths and through a symlink, and a gzip bomb (100 MiB of
// zeros in a few hundred KiB).
func writeHostileArchives(t *testing.T, dir string) []string {
	trav := filepath.Join(dir, "traversal.tar")
	f, err := os.Create(trav)
	must(t, err)
	tw := tar.NewWriter(f)
	up := strings.Repeat("../", 20) + strings.TrimPrefix(env.Base, "/")
	for _, h := range []tar.Header{
		{Name: up + "/" + escapeMarker, Typeflag: tar.TypeReg, Mode: 0o644, Size: 4},
		{Name: env.Base + "/" + escapeMarker + "-abs", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: env.Base},
		{Name: "link/" + escapeMarker + "-link", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4},
	} {
		must(t, tw.WriteHeader(&h))
		if h.Size > 0 {
			_, err := tw.Write([]byte("evil"))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, f.Close())

	bomb := filepath.Join(dir, "bomb.tar.gz")
	bf, err := os.Create(bomb)
	must(t, err)
	zw, _ := gzip.NewWriterLevel(bf, gzip.BestCompression)
	btw := tar.NewWriter(zw)
	const huge = 100 << 20
	must(t, btw.WriteHeader(&tar.Header{Name: "blobs/sha256/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: huge}))
	_, err = io.CopyN(btw, zeroReader{}, huge)
	must(t, err)
	must(t, btw.Close())
	must(t, zw.Close())
	must(t, bf.Close())
	return []string{trav, bomb}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func assertNoEscape(t *testing.T) {
	t.Helper()
	for _, name := range []string{escapeMarker, escapeMarker + "-abs", escapeMarker + "-link"} {
		if _, err := os.Lstat(filepath.Join(env.Base, name)); err == nil {
			t.Errorf("a hostile archive wrote %s outside containerd's content store", filepath.Join(env.Base, name))
		}
	}
}

// peakRSS is a process's VmHWM in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(l, "VmHWM: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
