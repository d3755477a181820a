package sandbox

import (
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// evictionPod is a pod whose app writes mib MiB with dd into dir (an
// emptyDir mounted at /cache, or its own /tmp) and then runs on, with a
// sidecar; app and sidecar leave a line on TERM. extra goes under the
// app's container.
func evictionPod(c *harness.Client, name, sizeLimit, dir string, mib int, appExtra, sideExtra string) string {
	// The mark goes inside a single-quoted trap: its own quotes escaped.
	mark := func(who string) string {
		return strings.ReplaceAll(harness.OrderMark(who, "TERM"), "'", `'"'"'`)
	}
	limit := ""
	if sizeLimit != "" {
		limit = "\n      sizeLimit: " + sizeLimit
	}
	side := "trap '" + mark("side") + "; exit 0' TERM; while true; do sleep 1 & wait $!; done"
	app := "trap '" + mark("app") + "; exit 0' TERM; dd if=/dev/zero of=" + dir + "/fill bs=1048576 count=" +
		strconv.Itoa(mib) + " 2>/dev/null; sync; while true; do sleep 1 & wait $!; done"
	return harness.Pod{Name: name, Grace: 30,
		Extra: "  - name: cache\n    emptyDir:" + limit + orEmpty(limit) + "\n",
		Inits: []harness.Container{{Name: "side", Sidecar: true, Command: []string{"sh", "-c", side}, Extra: sideExtra}},
		Containers: []harness.Container{{Name: "app", Command: []string{"sh", "-c", app},
			Extra: "    - {name: cache, mountPath: /cache}\n" + appExtra}},
	}.YAML(c.HostDir)
}

func orEmpty(limit string) string {
	if limit == "" {
		return " {}"
	}
	return ""
}

// TestLocalStorageEviction: podrund evicts pods over a local storage limit
// as the kubelet's eviction manager does (R71): an emptyDir over its
// sizeLimit, a container whose own file system grows over its
// ephemeral-storage limit. The pod ends Failed with reason Evicted and the
// kubelet's message, a Warning event Evicted says it, the app is stopped
// before its sidecar, and nothing restarts although restartPolicy is
// Always. A pod under its limits is left alone.
func TestLocalStorageEviction(t *testing.T) {
	t.Parallel()
	d := openDaemon(t, "evict", "localStorageCheckInterval: 300ms\n")
	c := env.ClientOn(t, d)
	limit := func(q string) string { return "    resources:\n      limits:\n        ephemeral-storage: " + q + "\n" }
	cases := []struct {
		name, yaml, message string
	}{
		{"overdir", evictionPod(c, "overdir", "1Mi", "/cache", 4, "", ""),
			`Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `},
		// The sidecar's limit keeps the pod's (their sum, 12Mi) above the
		// pod's use, so that the container's own limit is what is exceeded.
		{"overfs", evictionPod(c, "overfs", "", "/tmp", 8, limit("2Mi"), limit("10Mi")),
			`Container app exceeded its local ephemeral storage limit "2Mi". `},
		{"overpod", evictionPod(c, "overpod", "", "/cache", 6, limit("2Mi"), limit("2Mi")),
			"Pod ephemeral local storage usage exceeds the total limit of containers 4Mi. "},
	}
	c.Apply(evictionPod(c, "under", "8Mi", "/cache", 1, limit("4Mi"), ""))
	for _, tc := range cases {
		c.Apply(tc.yaml)
	}
	for _, tc := range cases {
		// Failed shows as soon as the eviction begins (as the kubelet
		// publishes it before it kills); then the containers stop.
		p := c.WaitFor(tc.name, "Failed and stopped", 90*time.Second, func(p *corev1.Pod) bool {
			if p.Status.Phase != corev1.PodFailed {
				return false
			}
			for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
				if cs.State.Terminated == nil {
					return false
				}
			}
			return true
		})
		if p.Status.Reason != "Evicted" || p.Status.Message != tc.message {
			t.Errorf("%s: status reason %q message %q, want Evicted and %q", tc.name, p.Status.Reason, p.Status.Message, tc.message)
		}
		// The kubelet adds DisruptionTarget for node pressure, not for a
		// local storage limit (R71's eviction path, no condition passed).
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.DisruptionTarget {
				t.Errorf("%s: condition %+v, want no DisruptionTarget for a local storage limit", tc.name, cond)
			}
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if cs.RestartCount != 0 || cs.State.Terminated == nil {
				t.Errorf("%s/%s after the eviction: restarts %d, state %+v; want stopped, never restarted", tc.name, cs.Name, cs.RestartCount, cs.State)
			}
		}
		c.WaitEvent(harness.EventFilter{Object: tc.name, Type: corev1.EventTypeWarning, Reason: "Evicted", Message: strings.TrimSpace(tc.message)}, 10*time.Second)
		harness.ExpectOrder(t, c.ReadOrder(tc.name), "app TERM", "side TERM")
	}
	// The monitor has run many times by now; the pod under its limits runs on.
	p := c.WaitFor("under", "status", 10*time.Second, func(*corev1.Pod) bool { return true })
	if p.Status.Phase != corev1.PodRunning || p.Status.Reason != "" {
		t.Errorf("pod under its limits: phase %s reason %q", p.Status.Phase, p.Status.Reason)
	}
}
