package sandbox

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/integration/harness"
)

// podrundOOMFloor is what podrund's clamp should be: podrund's own
// oom_score_adj when it lacks CAP_SYS_RESOURCE, else no clamp (clamped false).
func podrundOOMFloor(t *testing.T, pid int) (floor int, clamped bool) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var capEff uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if capEff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	if capEff&(1<<24) != 0 { // CAP_SYS_RESOURCE
		return 0, false
	}
	adj, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
	if err != nil {
		t.Fatal(err)
	}
	floor, err = strconv.Atoi(strings.TrimSpace(string(adj)))
	if err != nil {
		t.Fatal(err)
	}
	return floor, true
}

func hostMemTotal(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

// TestOOMScoreAdjByQOS: a Guaranteed, a Burstable and a BestEffort pod all
// run, and each container's main process has the kubelet's oom_score_adj
// for its QoS class (-997, 1000-1000*request/MemTotal, 1000), raised to
// podrund's own value where podrund lacks CAP_SYS_RESOURCE (this host, LXC,
// a systemd unit with a bounding set) — there runc cannot lower it, and
// before the clamp a Guaranteed pod sat in RunContainerError. /readyz?verbose
// says which applies.
func TestOOMScoreAdjByQOS(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	floor, clamped := podrundOOMFloor(t, env.Daemon.PID())
	clamp := func(adj int) int {
		if clamped && adj < floor {
			return floor
		}
		return adj
	}
	note := "[i]oom_score_adj: set from the QoS class (CAP_SYS_RESOURCE held)"
	if clamped {
		note = fmt.Sprintf("[i]oom_score_adj: clamped to at least %d, podrund's own (no CAP_SYS_RESOURCE)", floor)
	}
	if code, body := c.REST(http.MethodGet, "/readyz?verbose", "", nil); code != http.StatusOK || !strings.Contains(string(body), note+"\n") {
		t.Errorf("/readyz?verbose: %d %q, want a line %q", code, body, note)
	}
	burstable := 1000 - int(1000*(32<<20)/hostMemTotal(t))
	cases := []struct {
		name, resources string
		want            int
	}{
		{"oom-guaranteed", "{requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 100m, memory: 32Mi}}", clamp(-997)},
		{"oom-burstable", "{requests: {memory: 32Mi}}", clamp(burstable)},
		{"oom-besteffort", "{}", 1000},
	}
	for _, tc := range cases {
		c.Apply(`apiVersion: v1
kind: Pod
metadata: {name: ` + tc.name + `}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "` + forever + `"]
    resources: ` + tc.resources + `
`)
	}
	for _, tc := range cases {
		c.WaitFor(tc.name, "Ready", 90*time.Second, harness.PodReady)
		want(t, tc.name+" oom_score_adj", sh(t, c, tc.name, "app", "cat /proc/1/oom_score_adj"), strconv.Itoa(tc.want))
	}
	t.Logf("podrund oom_score_adj floor %d (clamped %v); Burstable 32Mi -> %d", floor, clamped, burstable)
	for _, tc := range cases {
		deletePod(t, c, tc.name)
	}
}
