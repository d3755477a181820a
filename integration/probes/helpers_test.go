package probes

import (
	"encoding/json"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// forever is a PID 1 script that logs Started, exits 0 on TERM and otherwise
// sleeps in the background so that the trap runs at once.
func forever(name string) []string {
	return []string{"sh", "-c", harness.OrderMark(name, "Started") + "; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"}
}

// jsonString quotes s for YAML (a JSON string is a YAML flow scalar).
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

// shq quotes s for sh in single quotes (expanded only when it runs).
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }

// status, running and terminated read a container's status (harness).
var (
	status     = harness.ContainerStatus
	running    = harness.Running
	terminated = harness.Terminated
)

func started(p *corev1.Pod, name string) bool {
	s := status(p, name)
	return s != nil && s.Started != nil && *s.Started
}

func ready(p *corev1.Pod, name string) bool {
	s := status(p, name)
	return s != nil && s.Ready
}

func restarts(p *corev1.Pod, name string) int32 {
	if s := status(p, name); s != nil {
		return s.RestartCount
	}
	return 0
}

func waitingReason(p *corev1.Pod, name string) string {
	if w := harness.Waiting(p, name); w != nil {
		return w.Reason
	}
	return ""
}

// untilNext is w.UntilPod over the events that arrive from now on (UntilPod
// alone would also match versions seen before).
func untilNext(w *harness.PodWatch, what string, timeout time.Duration, cond func(p *corev1.Pod) bool) *corev1.Pod {
	skip := len(w.History())
	return w.Until(what, timeout, func(ev harness.WatchedPod) bool {
		if skip > 0 {
			skip--
			return false
		}
		return cond(ev.Pod)
	})
}
