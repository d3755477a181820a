package robust

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// hookScript is a postStart hook that logs "<uptime> b" and "<uptime> e"
// around two seconds of work; starting a container blocks on it (R11), so
// the pod holds its start slot meanwhile.
const hookScript = `echo "$(cut -d' ' -f1 /proc/uptime) b" >> /shared/hook; sleep 2; echo "$(cut -d' ' -f1 /proc/uptime) e" >> /shared/hook`

// TestBoundedPodStarts: with concurrentPodStarts: 2, six pods applied at
// once never have more than two first starts (container creation up to
// the end of its postStart hook) in flight together.
func TestBoundedPodStarts(t *testing.T) {
	t.Parallel()
	d := env.PrivateDaemon(t)
	c := freshClient(t, d)
	setConcurrentPodStarts(t, d, 2)
	const pods, limit = 6, 2
	var objs []any
	for i := range pods {
		objs = append(objs, hookPod(c, fmt.Sprintf("p%d", i)))
	}
	applyAll(t, c, objs...)
	harness.Eventually(t, 3*time.Minute, harness.Check(func() string { return fmtPods(listPods(t, c)) }, func() bool {
		n := 0
		for _, p := range listPods(t, c) {
			if isReady(p) {
				n++
			}
		}
		return n == pods
	}))
	names := make([]string, pods)
	for i := range names {
		names[i] = fmt.Sprintf("p%d", i)
	}
	most := maxStartsInFlight(t, c, names, 1)
	if most > limit {
		t.Errorf("%d pod starts in flight at once, concurrentPodStarts is %d", most, limit)
	}
	t.Logf("at most %d of %d pod starts in flight together (limit %d)", most, pods, limit)
}

// setConcurrentPodStarts restarts podrund with concurrentPodStarts: n.
func setConcurrentPodStarts(t *testing.T, d *harness.Podrund, n int) {
	t.Helper()
	cfg, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Config, fmt.Appendf(cfg, "concurrentPodStarts: %d\n", n), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.Restart(ctx, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// hookPod is an Always pod whose app blocks its start on hookScript.
func hookPod(c *harness.Client, name string) *corev1.Pod {
	app := shell("app", forever)
	app.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
		Exec: &corev1.ExecAction{Command: []string{"sh", "-c", hookScript}}}}
	return newPod(c, name, corev1.RestartPolicyAlways, nil, app)
}

// maxStartsInFlight reads the hook logs of pods (runs hook runs each) and
// returns the most hooks that overlapped in time.
func maxStartsInFlight(t *testing.T, c *harness.Client, pods []string, runs int) int {
	t.Helper()
	type edge struct {
		at    float64
		delta int
	}
	var edges []edge
	for _, pod := range pods {
		lines := strings.Fields(c.ReadHostFile(pod + "/hook"))
		if len(lines) != 4*runs {
			t.Fatalf("pod %s hook log %q, want %d begin/end pairs", pod, lines, runs)
		}
		for j := 0; j < len(lines); j += 2 {
			at, err := strconv.ParseFloat(lines[j], 64)
			if err != nil {
				t.Fatal(err)
			}
			edges = append(edges, edge{at, map[string]int{"b": 1, "e": -1}[lines[j+1]]})
		}
	}
	// Ends before begins at the same instant: touching intervals do not overlap.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	inFlight, most := 0, 0
	for _, e := range edges {
		inFlight += e.delta
		most = max(most, inFlight)
	}
	return most
}
