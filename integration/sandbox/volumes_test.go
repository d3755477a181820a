package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

const volConfig = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  a: alpha
  b: beta
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData:
  pass: s3cret
  user: admin
`

// volPod mounts every volume type; "app" loops until /tmp/stop exists, so
// the test can make it exit (and restart) without signals.
func volPod(hostDir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: vols
  labels: {tier: backend}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: disk
    emptyDir: {}
  - name: mem
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
  - name: created
    hostPath: {path: %s/made/here, type: DirectoryOrCreate}
  - name: cfg
    configMap:
      name: cfg
      defaultMode: 0440
      items:
      - {key: a, path: dir/a.txt}
  - name: sec
    secret:
      secretName: sec
      items:
      - {key: pass, path: pass, mode: 0400}
  - name: nocfg
    configMap: {name: does-not-exist, optional: true}
  - name: down
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
      - path: name
        fieldRef: {fieldPath: metadata.name}
      - path: memlimit
        resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}
  - name: proj
    projected:
      sources:
      - configMap: {name: cfg, items: [{key: b, path: b}]}
      - secret: {name: sec, items: [{key: user, path: user}]}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "while [ ! -f /tmp/stop ]; do sleep 1; done"]
    resources:
      limits: {memory: 64Mi}
    volumeMounts:
    - {name: disk, mountPath: /disk}
    - {name: disk, mountPath: /sub, subPath: inner}
    - {name: disk, mountPath: /ro, readOnly: true}
    - {name: mem, mountPath: /mem}
    - {name: created, mountPath: /created}
    - {name: cfg, mountPath: /cfg}
    - {name: sec, mountPath: /sec}
    - {name: nocfg, mountPath: /nocfg}
    - {name: down, mountPath: /down}
    - {name: proj, mountPath: /proj}
  - name: peer
    image: busybox:1.28
    command: ["sh", "-c", "%s"]
    volumeMounts:
    - {name: disk, mountPath: /disk}
`, hostDir, forever)
}

// TestVolumes: every volume type as the container sees it; contents survive
// a container restart and go with the pod; a re-applied ConfigMap shows up
// in the mounted file within seconds.
func TestVolumes(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(volConfig)
	p := applyReady(t, c, volPod(c.HostDir), "vols")

	// emptyDir on disk, shared with peer; subPath and readOnly views of it.
	sh(t, c, "vols", "app", "echo kept > /disk/keep && echo s > /sub/x")
	want(t, "peer reads app's emptyDir file", sh(t, c, "vols", "peer", "cat /disk/keep"), "kept")
	want(t, "subPath file seen in the whole volume", sh(t, c, "vols", "peer", "cat /disk/inner/x"), "s")
	want(t, "readOnly mount content", sh(t, c, "vols", "app", "cat /ro/keep"), "kept")
	wantContains(t, "write to readOnly mount", shFails(t, c, "vols", "app", "touch /ro/new"), "Read-only file system")
	// medium: Memory is a tmpfs of sizeLimit.
	mem := sh(t, c, "vols", "app", "grep ' /mem ' /proc/mounts")
	wantContains(t, "/mem mount", mem, "tmpfs", "size=16384k")
	// hostPath DirectoryOrCreate created the directory on the host.
	sh(t, c, "vols", "app", "echo h > /created/f")
	if b, err := os.ReadFile(filepath.Join(c.HostDir, "made/here/f")); err != nil || string(b) != "h\n" {
		t.Errorf("hostPath DirectoryOrCreate: host file %q, %v", b, err)
	}
	// configMap items + defaultMode, secret item mode, optional missing.
	wantOutputs(t, c, "vols", "app",
		output{"configMap item", "cat /cfg/dir/a.txt", "alpha"},
		output{"configMap keys not in items are absent", "ls /cfg", "dir"},
		output{"configMap defaultMode", "stat -L -c %a /cfg/dir/a.txt", "440"},
		output{"secret item", "cat /sec/pass", "s3cret"},
		output{"secret item mode", "stat -L -c %a /sec/pass", "400"},
		output{"optional missing configMap", "ls -A /nocfg | grep -v '^\\.\\.' | wc -l", "0"})
	wantContains(t, "configMap mount is read-only", shFails(t, c, "vols", "app", "touch /cfg/new"), "Read-only")
	// downwardAPI and projected.
	wantOutputs(t, c, "vols", "app",
		output{"downwardAPI labels", "cat /down/labels", `tier="backend"`},
		output{"downwardAPI name", "cat /down/name", "vols"},
		output{"downwardAPI limits.memory in Mi", "cat /down/memlimit", "64"},
		output{"projected", "for f in b user ns; do cat /proj/$f; echo; done | tr '\\n' ' '", "beta admin " + c.NS})

	// A re-applied ConfigMap or Secret reaches the mounted files (the
	// projected one too) within seconds; modes stay.
	c.Apply(strings.NewReplacer("a: alpha", "a: omega", "b: beta", "b: gamma", "pass: s3cret", "pass: n3w").Replace(volConfig))
	start := time.Now()
	harness.Eventually(t, 20*time.Second, func() string {
		got := sh(t, c, "vols", "app", "cat /cfg/dir/a.txt; echo; cat /proj/b; echo; cat /sec/pass")
		if got != "omega\ngamma\nn3w" {
			return "configMap/secret update not in the mounted files: " + got
		}
		return ""
	})
	t.Logf("configMap and secret updates visible after %v", time.Since(start).Round(100*time.Millisecond))
	want(t, "secret item mode after the update", sh(t, c, "vols", "app", "stat -L -c %a /sec/pass"), "400")

	// A container restart keeps the volumes' contents.
	sh(t, c, "vols", "app", "echo m > /mem/keep && touch /tmp/stop")
	c.WaitFor("vols", "app restarted", 60*time.Second, func(p *corev1.Pod) bool {
		s := status(p, "app")
		return s != nil && s.RestartCount >= 1 && s.State.Running != nil
	})
	want(t, "emptyDir after restart", sh(t, c, "vols", "app", "cat /disk/keep /mem/keep /sub/x | tr '\\n' ' '"), "kept m s")
	want(t, "container rootfs is fresh after restart", sh(t, c, "vols", "app", "ls /tmp/stop 2>/dev/null; true"), "")

	// Deletion removes the volumes (and the tmpfs) but not the hostPath.
	volDir := filepath.Join(c.Daemon.Root, "pods", string(p.UID), "volumes")
	if _, err := os.Stat(volDir); err != nil {
		t.Errorf("pod volumes dir %s: %v", volDir, err)
	}
	deletePod(t, c, "vols")
	if _, err := os.Stat(volDir); err == nil {
		t.Errorf("volumes dir %s remains after deletion", volDir)
	}
	if _, err := os.Stat(filepath.Join(c.HostDir, "made/here/f")); err != nil {
		t.Errorf("hostPath content must outlive the pod: %v", err)
	}
}

// TestHostPathFileMissing: hostPath type File on a missing path keeps the
// container waiting with a message naming the path; it starts once the
// file exists.
func TestHostPathFileMissing(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	path := filepath.Join(c.HostDir, "missing.txt")
	c.Apply(podOf("hp", 1, []string{"volumes: [{name: f, hostPath: {path: " + path + ", type: File}}]"},
		busybox("app", "cat /f; "+forever, "volumeMounts: [{name: f, mountPath: /f}]")))
	p := c.WaitFor("hp", "waiting with a hostPath message", 60*time.Second, func(p *corev1.Pod) bool {
		w := harness.Waiting(p, "app")
		return w != nil && strings.Contains(w.Message, path)
	})
	w := harness.Waiting(p, "app")
	want(t, "waiting reason", w.Reason, "CreateContainerConfigError")
	wantContains(t, "waiting message", w.Message, `volume "f"`, "hostPath type check failed", "is not a file")
	if err := os.WriteFile(path, []byte("now here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("hp", "Ready once the file exists", 90*time.Second, harness.PodReady)
	logsUntil(t, c, "hp", "app", "now here", 20*time.Second)
	deletePod(t, c, "hp")
}
