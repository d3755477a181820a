package probes

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

const busybox = "busybox:1.28"

// forever is a PID 1 script that logs Started, exits 0 on TERM and otherwise
// sleeps in the background so that the trap runs at once.
func forever(name string) []string {
	return []string{"sh", "-c", harness.OrderMark(name, "Started") + "; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"}
}

// ctr is one container of a test pod; every container mounts the pod's
// hostPath order dir at /shared.
type ctr struct {
	Name    string
	Image   string // busybox:1.28 unless set
	Command []string
	Args    []string
	Sidecar bool   // restartPolicy: Always on an init container
	Extra   string // raw YAML for the container, indented by 4 spaces
}

type podSpec struct {
	Name          string
	RestartPolicy string
	Grace         int // terminationGracePeriodSeconds when > 0
	Inits         []ctr
	Containers    []ctr
}

func jsonList(args []string) string {
	b, _ := json.Marshal(args)
	return string(b)
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

func (p podSpec) yaml(hostDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n", p.Name)
	if p.RestartPolicy != "" {
		fmt.Fprintf(&b, "  restartPolicy: %s\n", p.RestartPolicy)
	}
	if p.Grace > 0 {
		fmt.Fprintf(&b, "  terminationGracePeriodSeconds: %d\n", p.Grace)
	}
	fmt.Fprintf(&b, "  volumes:\n  - name: shared\n    hostPath:\n      path: %s\n      type: DirectoryOrCreate\n",
		filepath.Join(hostDir, p.Name))
	list := func(key string, cs []ctr) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "  %s:\n", key)
		for _, c := range cs {
			img := c.Image
			if img == "" {
				img = busybox
			}
			fmt.Fprintf(&b, "  - name: %s\n    image: %s\n", c.Name, img)
			if c.Command != nil {
				fmt.Fprintf(&b, "    command: %s\n", jsonList(c.Command))
			}
			if c.Args != nil {
				fmt.Fprintf(&b, "    args: %s\n", jsonList(c.Args))
			}
			if c.Sidecar {
				b.WriteString("    restartPolicy: Always\n")
			}
			b.WriteString("    volumeMounts:\n    - name: shared\n      mountPath: /shared\n")
			b.WriteString(c.Extra)
		}
	}
	list("initContainers", p.Inits)
	list("containers", p.Containers)
	return b.String()
}

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
