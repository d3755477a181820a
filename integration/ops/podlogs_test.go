package ops

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

// TestDeletedPodLogsRemoved: a pod's logs stay while the pod exists, also
// once it has completed (podctl logs of a finished pod works), and are
// removed from the disk with the pod, as the kubelet removes them. Before,
// every deleted pod left its logs under --root for good.
func TestDeletedPodLogsRemoved(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "logged", RestartPolicy: "Never", Containers: []harness.Container{
		{Name: "app", Command: []string{"sh", "-c", "echo hello from app"}}}}
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("logged", "Succeeded", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	dir := filepath.Join(c.Daemon.Root, "logs", fmt.Sprintf("%s_%s_%s", c.NS, p.Name, p.UID))
	if _, err := os.Stat(filepath.Join(dir, "app", "0.log")); err != nil {
		t.Fatalf("log file of the completed pod: %v", err)
	}
	if out := c.Logs("logged", "app"); !strings.Contains(out, "hello from app") {
		t.Fatalf("logs of the completed pod: %q", out)
	}
	c.DeleteAndWait("logged")
	// The logs go right after the record (daemon/objects: a crash in
	// between leaves a dir the boot sweep removes), so the DELETED event
	// can come first, as the kubelet's log removal follows the API's.
	harness.Eventually(t, 10*time.Second, func() string {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			entries, _ := os.ReadDir(dir)
			return fmt.Sprintf("log dir %s of the deleted pod is still there (%v; %d entries)", dir, err, len(entries))
		}
		return ""
	})
}
