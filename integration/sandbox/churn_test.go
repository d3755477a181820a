package sandbox

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// TestDeleteWhileStarting: a pod deleted right after it was submitted,
// while its sandbox and containers are being created, leaves nothing
// behind: no container, netns, mount, cgroup or process.
func TestDeleteWhileStarting(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("quick%d", i)
		mountM := "    volumeMounts: [{name: m, mountPath: /m}]\n"
		c.Apply(harness.Pod{Name: name, Grace: 1, NoSharedDir: true,
			Extra: "  volumes:\n  - name: m\n    emptyDir: {medium: Memory}\n",
			Inits: []harness.Container{{Name: "side", Sidecar: true,
				Command: []string{"sh", "-c", forever}, Extra: mountM}},
			Containers: []harness.Container{{Name: "app",
				Command: []string{"sh", "-c", forever}, Extra: mountM}},
		}.YAML(""))
		time.Sleep(time.Duration(i) * 40 * time.Millisecond)
		p := c.GetPod(name)
		c.MustPodctl("delete", "pod", name, "--grace-period", "1", "--wait=true")
		if left := podLeftovers(c.Daemon, p.UID); len(left) > 0 {
			t.Errorf("pod %s deleted %dms after submit left:\n  %s", name, i*40, strings.Join(left, "\n  "))
		}
	}
	harness.Eventually(t, 10*time.Second, func() string {
		out, err := c.Daemon.Ctrd.Ctr(t.Context(), c.Daemon.Namespace, "containers", "ls", "-q",
			`labels."io.podrun.pod.namespace"==`+c.NS)
		if err != nil {
			return err.Error()
		}
		if strings.TrimSpace(out) != "" {
			return "containers left after deleting pods while they started:\n" + out
		}
		return ""
	})
}
