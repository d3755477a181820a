package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podrun/podrun/integration/harness"
)

// procStatus returns the value of field (e.g. "CapEff") in the container's
// /proc/self/status.
func procStatus(t *testing.T, c *harness.Client, pod, ctr, field string) string {
	t.Helper()
	out := sh(t, c, pod, ctr, "grep '^"+field+":' /proc/self/status")
	_, v, _ := strings.Cut(out, ":")
	return strings.TrimSpace(v)
}

// wantProcStatus wants, for each field (in place of a script), its value
// in the /proc/self/status of a process of container ctr of pod.
func wantProcStatus(t *testing.T, c *harness.Client, pod, ctr string, fields ...output) {
	t.Helper()
	for _, f := range fields {
		want(t, f.what, procStatus(t, c, pod, ctr, f.script), f.want)
	}
}

// TestSecurityContext: what the processes see of runAsUser/runAsGroup,
// supplementalGroups, fsGroup, capabilities add/drop over the default set,
// readOnlyRootFilesystem, allowPrivilegeEscalation false, seccomp
// RuntimeDefault and Localhost, masked and read-only /proc paths, and a
// safe sysctl.
func TestSecurityContext(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// A Localhost profile below the daemon's <root>/seccomp: allow all but mkdir.
	prof := filepath.Join(c.Daemon.Root, "seccomp", c.NS, "deny-mkdir.json")
	if err := os.MkdirAll(filepath.Dir(prof), 0o755); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(prof, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	applyPodReady(t, c, "sec", `
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    supplementalGroups: [4000]
    fsGroup: 2000
    sysctls:
    - {name: kernel.shm_rmid_forced, value: "1"}
  volumes:
  - name: data
    emptyDir: {}
  containers:
  - name: ids
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
    volumeMounts: [{name: data, mountPath: /data}]
  - name: tight
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
    securityContext:
      runAsUser: 0
      runAsGroup: 0
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      seccompProfile: {type: RuntimeDefault}
      capabilities:
        drop: [ALL]
        add: [NET_BIND_SERVICE]
  - name: local
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
    securityContext:
      seccompProfile: {type: Localhost, localhostProfile: `+c.NS+`/deny-mkdir.json}
      capabilities: {add: [SYS_TIME], drop: [CHOWN]}
  - name: plain
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
    securityContext: {runAsUser: 0, runAsGroup: 0}
`)
	wantOutputs(t, c, "sec", "ids",
		output{"id -u", "id -u", "1000"},
		output{"id -g", "id -g", "3000"})
	groups := " " + sh(t, c, "sec", "ids", "id -G") + " "
	wantContains(t, "id -G (runAsGroup, fsGroup, supplementalGroups)", groups, " 3000 ", " 2000 ", " 4000 ")
	wantOutputs(t, c, "sec", "ids",
		output{"fsGroup owns the emptyDir", "stat -c %g /data", "2000"},
		output{"new file in the emptyDir gets the fsGroup", "touch /data/f && stat -c %g /data/f", "2000"})

	wantProcStatus(t, c, "sec", "tight",
		output{"CapEff with drop ALL add NET_BIND_SERVICE", "CapEff", "0000000000000400"},
		output{"CapBnd with drop ALL add NET_BIND_SERVICE", "CapBnd", "0000000000000400"},
		output{"NoNewPrivs with allowPrivilegeEscalation false", "NoNewPrivs", "1"},
		output{"Seccomp with RuntimeDefault", "Seccomp", "2"})
	wantContains(t, "write to a read-only root", shFails(t, c, "sec", "tight", "touch /newfile"), "Read-only file system")
	// Without settings: the runtimes' default capability set, no
	// no_new_privs, seccomp Unconfined (the kubelet's default).
	wantProcStatus(t, c, "sec", "plain",
		output{"default CapEff", "CapEff", "00000000a80425fb"},
		output{"default NoNewPrivs", "NoNewPrivs", "0"},
		output{"default Seccomp", "Seccomp", "0"})
	sh(t, c, "sec", "plain", "touch /newfile")
	// The default set (a80425fb) without CHOWN (bit 0), with SYS_TIME (bit
	// 25), as the bounding set: "local" runs as uid 1000, whose effective
	// set is empty after execve (as under CRI: no ambient capabilities).
	wantProcStatus(t, c, "sec", "local",
		output{"CapBnd with add SYS_TIME drop CHOWN", "CapBnd", "00000000aa0425fa"},
		output{"CapEff of a non-root process", "CapEff", "0000000000000000"},
		output{"Seccomp with a Localhost profile", "Seccomp", "2"})
	wantContains(t, "mkdir under the Localhost profile", shFails(t, c, "sec", "local", "mkdir /tmp/d"), "Operation not permitted")
	sh(t, c, "sec", "plain", "mkdir /tmp/d")
	// Masked paths are /dev/null (char 1,3) or an empty read-only tmpfs;
	// /proc/sys is read-only.
	wantOutputs(t, c, "sec", "plain",
		output{"/proc/keys masked", "stat -c %t,%T /proc/keys", "1,3"},
		output{"/proc/acpi masked", "ls -A /proc/acpi | wc -l", "0"})
	wantContains(t, "/proc/sys mount", sh(t, c, "sec", "plain", "grep ' /proc/sys ' /proc/mounts"), " ro,")
	shFails(t, c, "sec", "plain", "echo 0 > /proc/sys/kernel/shm_rmid_forced")
	// The safe sysctl is set in the pod's IPC namespace, not on the host.
	want(t, "sysctl kernel.shm_rmid_forced", sh(t, c, "sec", "plain", "cat /proc/sys/kernel/shm_rmid_forced"), "1")
	if b, _ := os.ReadFile("/proc/sys/kernel/shm_rmid_forced"); strings.TrimSpace(string(b)) == "1" {
		t.Logf("note: the host's kernel.shm_rmid_forced is 1 as well")
	}
	deletePod(t, c, "sec")
}

// TestRunAsNonRoot: runAsNonRoot with an image that runs as root is refused
// with CreateContainerConfigError and a clear message; an image with a
// non-root user runs.
func TestRunAsNonRoot(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.PodManifest("nonroot", `
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true}
  containers:
  - name: rootimg
    image: busybox:1.28
    command: ["sh", "-c", "`+forever+`"]
  - name: userimg
    image: `+harness.ImageUser+`
    command: ["sh", "-c", "`+forever+`"]
`))
	p := c.WaitFor("nonroot", "rootimg refused, userimg running", 60*time.Second, func(p *corev1.Pod) bool {
		w := harness.Waiting(p, "rootimg")
		s := status(p, "userimg")
		return w != nil && w.Reason == "CreateContainerConfigError" && s != nil && s.State.Running != nil
	})
	wantContains(t, "refusal message", harness.Waiting(p, "rootimg").Message, "runAsNonRoot", "root")
	want(t, "id -u of the non-root image", sh(t, c, "nonroot", "userimg", "id -u"), "1000")
	deletePod(t, c, "nonroot")
}

// TestPolicyRefusals: the shared daemon's policy (level privileged,
// hostPaths below the test base dir only) refuses a hostPath elsewhere at
// submit with a 403 naming the volume; nothing runs. The levels themselves
// are attacked in TestPodSecurityBaseline.
func TestPolicyRefusals(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	head := harness.PodManifest("bad", "")
	ctr := "  containers:\n  - name: app\n    image: busybox:1.28\n"
	cases := map[string]struct{ yaml, path string }{
		"hostPath": {head + "  volumes:\n  - name: h\n    hostPath: {path: /etc}\n" + ctr, "/etc"},
		// A sibling sharing the prefix's leading characters is not under it.
		"hostPathSibling": {head + "  volumes:\n  - name: h\n    hostPath: {path: " + env.Base + "x}\n" + ctr, env.Base + "x"},
	}
	for name, tc := range cases {
		code, body := c.REST("POST", c.PodPath(""), "application/yaml", strings.NewReader(tc.yaml))
		var st metav1.Status
		_ = json.Unmarshal(body, &st)
		msg := fmt.Sprintf(`pods "bad" is forbidden: hostPath volume "h": %s is not under policy.allowedHostPaths (%s)`, tc.path, env.Base)
		if code != 403 || st.Reason != metav1.StatusReasonForbidden || st.Message != msg {
			t.Errorf("%s: HTTP %d %s; want 403 %q", name, code, body, msg)
		}
	}
	if code, _ := c.REST("GET", c.PodPath("bad"), "", nil); code != 404 {
		t.Errorf("a refused pod was stored: GET answered %d", code)
	}
	// podctl shows the reason too.
	_, errOut, code := c.PodctlStdin(strings.NewReader(cases["hostPath"].yaml), "apply", "-f", "-")
	if code == 0 || !strings.Contains(errOut, `Error from server (Forbidden): pods "bad" is forbidden: hostPath volume "h"`) {
		t.Errorf("podctl apply of a hostPath pod: exit %d, stderr %q", code, errOut)
	}
}
