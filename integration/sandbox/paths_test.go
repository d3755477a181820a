package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// swapVictims is how many containers mount the subPath the attacker swaps;
// each crash-loops, so every (re)start is one more resolution under attack.
const swapVictims = 8

// swapPod: "attacker" exchanges the emptyDir's subPath directory "sub"
// with a symlink to a host directory, with renameat2(RENAME_EXCHANGE) in a
// tight loop; the victims mount subPath "sub", note each start in
// /report/tries, note in /report/seen when they see the host's marker and
// try to write into what they got, then crash to be restarted.
func swapPod(hostDir string) string {
	ctrs := []harness.Container{{Name: "attacker", Image: harness.ImageSwapper, Command: []string{"/bin/swapper", "/v/sub", "/v/swap", "600"},
		Extra: "    volumeMounts: [{name: shared, mountPath: /v}, {name: report, mountPath: /report}]\n"}}
	for i := range swapVictims {
		ctrs = append(ctrs, busybox(fmt.Sprintf("victim%d", i),
			fmt.Sprintf("echo v%[1]d >> /report/tries; if [ -e /s/marker ]; then echo v%[1]d >> /report/seen; fi; echo x > /s/written-v%[1]d-$RANDOM; sleep 1; exit 1", i),
			"volumeMounts: [{name: shared, mountPath: /s, subPath: sub}, {name: report, mountPath: /report}]"))
	}
	return harness.Pod{Name: "swap", Grace: 1, NoSharedDir: true,
		Extra: "  volumes: [{name: shared, emptyDir: {}}, {name: report, emptyDir: {}}]\n",
		Inits: []harness.Container{busybox("plant", "mkdir -p /v/sub && ln -sfn "+hostDir+" /v/swap",
			"volumeMounts: [{name: shared, mountPath: /v}]")},
		Containers: ctrs}.YAML("")
}

// TestSubPathExchangeAttack (CVE-2021-25741 class): however the attacker's
// exchanges fall against podrund's resolution, no victim ever gets the host
// directory bind-mounted: none sees the host's marker file and nothing they
// write lands on the host. Each (re)start either mounts the real subPath
// directory (bound by file descriptor) or is refused with a
// CreateContainerConfigError naming the symlink, and retried.
func TestSubPathExchangeAttack(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	hostDir := filepath.Join(c.HostDir, "victim")
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "marker"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Apply(swapPod(hostDir))
	c.WaitFor("swap", "attacker running", 90*time.Second, func(p *corev1.Pod) bool { return harness.Running(p, "attacker") })
	logsUntil(t, c, "swap", "attacker", "swapping", 30*time.Second)
	// Every creation resolves the subPath under attack: it either starts a
	// victim (mounted by descriptor) or is refused naming the subPath. Both
	// count as tries; refusals put victims into back-off, so counting starts
	// alone made the test's length depend on how often the race was caught.
	// Each victim must still start at least once, so the checks below read
	// real mounts.
	const wantTries = 3 * swapVictims
	tries, refused := 0, 0
	harness.Eventually(t, 6*time.Minute, func() string {
		out, _, _ := c.Podctl("exec", "swap", "-c", "attacker", "--", "sh", "-c", "cat /report/tries 2>/dev/null | wc -l")
		tries, _ = strconv.Atoi(strings.TrimSpace(out))
		refused = subPathRefusals(c)
		if tries < swapVictims || tries+refused < wantTries {
			return fmt.Sprintf("%d victim starts and %d refused creations under attack, want %d starts and %d in all",
				tries, refused, swapVictims, wantTries)
		}
		return ""
	})
	seen := sh(t, c, "swap", "attacker", "cat /report/seen 2>/dev/null; true")
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	t.Logf("%d victim starts under attack; %d creations refused; host dir seen by: %q", tries, refused, seen)
	if seen != "" {
		t.Errorf("victims saw the host directory through their subPath: %q", seen)
	}
	if strings.Join(names, " ") != "marker" {
		t.Errorf("victims wrote into the host directory: %v", names)
	}
	deletePod(t, c, "swap")
	if b, err := os.ReadFile(filepath.Join(hostDir, "marker")); err != nil || string(b) != "host\n" {
		t.Errorf("host marker after the pod's deletion: %q, %v", b, err)
	}
}

// subPathRefusals counts the victims' creations refused while resolving
// their subPath (CreateContainerConfigError events naming it).
func subPathRefusals(c *harness.Client) int {
	n := 0
	for _, e := range c.Events() {
		if e.Reason == "Failed" && strings.Contains(e.Message, `subPath "sub"`) {
			n += max(int(e.Count), 1)
		}
	}
	return n
}

// TestHostPathPrefixEscape: pod "plant" leaves a symlink escape -> / below
// the allowed hostPath prefix; pod "reader" then asks for
// hostPath <prefix>/escape. The path is resolved beneath the prefix with no
// symlinks, so reader never starts: it waits in CreateContainerConfigError
// naming the symlink, and /etc/shadow is never read.
func TestHostPathPrefixEscape(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	dir := filepath.Join(c.HostDir, "prefixed")
	c.Apply(podOf("plant", 0, []string{"restartPolicy: Never", "volumes: [{name: h, hostPath: {path: " + dir + ", type: DirectoryOrCreate}}]"},
		busybox("plant", "ln -s / /h/escape", "volumeMounts: [{name: h, mountPath: /h}]")))
	c.WaitFor("plant", "Succeeded", 90*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if target, err := os.Readlink(filepath.Join(dir, "escape")); err != nil || target != "/" {
		t.Fatalf("planted link: %q, %v", target, err)
	}
	escape := filepath.Join(dir, "escape")
	c.Apply(podOf("reader", 1, []string{"volumes: [{name: root, hostPath: {path: " + escape + "}}, {name: etc, hostPath: {path: " + escape + "/etc, type: Directory}}]"},
		busybox("read", "cat /host/etc/shadow; "+forever, "volumeMounts: [{name: root, mountPath: /host}]"),
		busybox("etc", "cat /etc2/shadow; "+forever, "volumeMounts: [{name: etc, mountPath: /etc2}]")))
	for _, ctr := range []string{"read", "etc"} {
		p := c.WaitFor("reader", ctr+" refused or running", 90*time.Second, func(p *corev1.Pod) bool {
			w := harness.Waiting(p, ctr)
			return harness.Running(p, ctr) || w != nil && w.Reason == "CreateContainerConfigError"
		})
		if harness.Running(p, ctr) {
			// Not printed: on a failure the log holds the host's /etc/shadow.
			t.Errorf("container %s started with hostPath through %s -> /; its log has %d bytes", ctr, escape, len(c.Logs("reader", ctr)))
			continue
		}
		w := harness.Waiting(p, ctr)
		wantContains(t, ctr+" waiting message", w.Message, escape, "symlink")
	}
	// Still refused later: it is retried, never let through.
	time.Sleep(3 * time.Second)
	p := c.GetPod("reader")
	for _, ctr := range []string{"read", "etc"} {
		if s := status(p, ctr); s == nil || s.State.Running != nil || s.RestartCount != 0 || s.LastTerminationState.Terminated != nil {
			t.Errorf("container %s ran: %+v", ctr, s)
		}
	}
	deletePod(t, c, "reader")
	deletePod(t, c, "plant")
}

// TestTerminationLogNonRoot: the termination-log file is writable by a
// container running as any user (0666 in a podrund-private directory, as
// the kubelet makes it), at the default and at a custom path.
func TestTerminationLogNonRoot(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.PodManifest("termlog", `
  restartPolicy: Never
  securityContext: {runAsUser: 1000, runAsGroup: 1000}
  containers:
  - name: default
    image: busybox:1.28
    command: ["sh", "-c", "echo -n bye-from-1000 > /dev/termination-log; exit 3"]
  - name: custom
    image: busybox:1.28
    terminationMessagePath: /tmp/last-words
    command: ["sh", "-c", "echo -n custom-1000 > /tmp/last-words; exit 4"]
`))
	p := c.WaitFor("termlog", "both terminated", 90*time.Second, func(p *corev1.Pod) bool {
		return harness.Terminated(p, "default") != nil && harness.Terminated(p, "custom") != nil
	})
	for ctr, msg := range map[string]string{"default": "bye-from-1000", "custom": "custom-1000"} {
		term := harness.Terminated(p, ctr)
		want(t, ctr+" termination message", term.Message, msg)
	}
	deletePod(t, c, "termlog")
}
