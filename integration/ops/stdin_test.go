package ops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestStdinWarningAndTTYShell: `stdin: true` with `tty: true` (the shape
// `kubectl run -it` writes) keeps an interactive shell waiting on its
// console, as under the kubelet with nobody attached; `stdin: true` without
// a tty cannot be kept open (containerd's shim gives a process logged
// through a binary no stdin), so podctl apply prints podrund's warning
// naming the field, and the pod is admitted all the same.
func TestStdinWarningAndTTYShell(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	out, errOut, code := c.PodctlStdin(strings.NewReader(harness.PodManifest("it", `
  containers:
  - name: shell
    image: busybox:1.28
    command: ["sh"]
    stdin: true
    tty: true
  - name: reader
    image: busybox:1.28
    command: ["sh", "-c", "cat; echo stdin ended; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
    stdin: true
`)), "apply", "-f", "-")
	if code != 0 || strings.TrimSpace(out) != "pod/it created" {
		t.Fatalf("apply: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "Warning: spec.containers[1].stdin: without tty: true") || strings.Contains(errOut, "containers[0]") {
		t.Errorf("apply stderr %q: want one warning, naming spec.containers[1].stdin", errOut)
	}
	c.WaitFor("it", "Ready", 60*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 2 &&
			p.Status.ContainerStatuses[0].Ready && p.Status.ContainerStatuses[1].Ready
	})
	// The reader's line shows its stdin ended, which the warning said; by
	// then the shell on its tty had the same time to see an end of file.
	harness.Eventually(t, 15*time.Second, func() string {
		if logs := c.Logs("it", "reader"); !strings.Contains(logs, "stdin ended") {
			return fmt.Sprintf("reader never saw its stdin end; logs %q", logs)
		}
		return ""
	})
	time.Sleep(time.Second)
	p := c.WaitFor("it", "status", 10*time.Second, func(*corev1.Pod) bool { return true })
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Running == nil {
		t.Errorf("shell with stdin and tty did not keep running: restarts %d, state %+v", cs.RestartCount, cs.State)
	}
}
