package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// TestOneShimPerPod checks that every container of a pod, the sidecar,
// an app and an app's restarted instance, is served by one runc shim (the
// shim group annotation), and that the shim goes with the pod. One shim
// per container cost 2.8 MiB each (BENCHMARKS.md).
func TestOneShimPerPod(t *testing.T) {
	c := env.Client(t)
	// Unique arguments find the containers' processes on the host.
	mark := fmt.Sprintf("%d", 40000+time.Now().UnixNano()%10000)
	sleep := func(n int) []string { return []string{"sleep", mark + strconv.Itoa(n)} }
	// b fails once, then runs: its second instance must join the shim.
	c.Apply(harness.Pod{Name: "grouped", NoSharedDir: true,
		Extra: "  volumes:\n  - name: data\n    emptyDir: {}\n",
		Inits: []harness.Container{{Name: "side", Sidecar: true, Command: sleep(1)}},
		Containers: []harness.Container{
			{Name: "a", Command: sleep(2)},
			{Name: "b", Command: []string{"sh", "-c", "[ -e /data/ran ] && exec sleep $0; touch /data/ran; exit 1", mark + "3"},
				Extra: "    volumeMounts:\n    - name: data\n      mountPath: /data\n"},
		}}.YAML(c.HostDir))

	var shim int
	harness.Eventually(t, 90*time.Second, func() string {
		parents := map[int]bool{}
		for n := 1; n <= 3; n++ {
			pid := processWithArgs("sleep " + mark + strconv.Itoa(n))
			if pid == 0 {
				return fmt.Sprintf("container %d not running yet", n)
			}
			parents[parentOf(pid)] = true
		}
		if len(parents) != 1 {
			return fmt.Sprintf("the containers have %d parent processes, want one shim: %v", len(parents), parents)
		}
		for p := range parents {
			shim = p
		}
		return ""
	})
	if cmd := cmdline(shim); !strings.Contains(cmd, "containerd-shim") {
		t.Fatalf("the containers' parent %d is %q, not a shim", shim, cmd)
	}
	if p := c.GetPod("grouped"); p.Status.ContainerStatuses[1].RestartCount != 1 {
		t.Fatalf("b restarted %d times, want 1", p.Status.ContainerStatuses[1].RestartCount)
	}
	c.DeleteAndWait("grouped")
	harness.Eventually(t, 30*time.Second, func() string {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", shim)); err == nil && strings.Contains(cmdline(shim), "containerd-shim") {
			return fmt.Sprintf("shim %d still runs after the pod is gone", shim)
		}
		return ""
	})
}

func processWithArgs(args string) int {
	if pids := processesWithArgs(args); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// processesWithArgs lists the host's processes whose command line
// contains args.
func processesWithArgs(args string) []int {
	var pids []int
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err == nil && strings.Contains(cmdline(pid), args) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func parentOf(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
