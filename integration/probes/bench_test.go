package probes

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds is the user+system CPU time process pid has used so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat of %d: %q", pid, s)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse stat of %d: %q", pid, s)
	}
	return float64(ut+st) / clockTicks, nil
}

// benchPods is N pods, each running busybox httpd with an exec readiness
// probe and an httpGet liveness probe, both every second.
// only (PROBE_BENCH_ONLY=exec|http) keeps one of the two probes, to split the cost.
func benchPods(n int, only string) string {
	app := "mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www; " +
		"trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
	var probes string
	if only != "http" {
		probes += "    readinessProbe:\n      exec:\n        command: [\"true\"]\n      periodSeconds: 1\n"
	}
	if only != "exec" {
		probes += "    livenessProbe:\n      httpGet:\n        path: /index.html\n        port: 8080\n      periodSeconds: 1\n"
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("---\n")
		b.WriteString(harness.Pod{Name: fmt.Sprintf("bench-%d", i), Grace: 1, NoSharedDir: true,
			Containers: []harness.Container{{Name: "app", Command: []string{"sh", "-c", app}, Extra: probes}},
		}.YAML(""))
	}
	return b.String()
}

// BenchmarkProbeCost reports podrund's CPU time per second of wall time while
// it probes pods with 1 s exec and HTTP probes (probe work must stay
// cheap). Quick mode: 20 pods for 20 s; PROBE_BENCH_FULL=1: 100 pods for 60 s.
// containerd's share (it runs every exec) is reported beside it.
func BenchmarkProbeCost(b *testing.B) {
	pods, span := 20, 20*time.Second
	if os.Getenv("PROBE_BENCH_FULL") == "1" {
		pods, span = 100, 60*time.Second
	}
	d := env.PrivateDaemon(b)
	c := env.ClientOn(b, d)
	c.Apply(benchPods(pods, os.Getenv("PROBE_BENCH_ONLY")))
	waitAllReady(b, c, pods, 10*time.Minute)
	b.ResetTimer()
	var podrund, ctrd float64
	failedBefore := unhealthyCount(b, c)
	for i := 0; i < b.N; i++ {
		p0, err := cpuSeconds(d.PID())
		if err != nil {
			b.Fatal(err)
		}
		c0, _ := cpuSeconds(d.Ctrd.PID())
		t0 := time.Now()
		time.Sleep(span)
		p1, err := cpuSeconds(d.PID())
		if err != nil {
			b.Fatal(err)
		}
		c1, _ := cpuSeconds(d.Ctrd.PID())
		wall := time.Since(t0).Seconds()
		podrund += (p1 - p0) / wall
		ctrd += (c1 - c0) / wall
	}
	b.ReportMetric(podrund/float64(b.N)*1000, "podrund-cpu-ms/s")
	b.ReportMetric(podrund/float64(b.N)*1000/float64(pods), "podrund-cpu-ms/s/pod")
	b.ReportMetric(ctrd/float64(b.N)*1000, "containerd-cpu-ms/s")
	b.ReportMetric(float64(pods), "pods")
	// The probes ran all along: every pod is still Ready. Failed attempts
	// while measuring (an exec over its 1 s timeout on a loaded machine) are
	// reported, not fatal.
	waitAllReady(b, c, pods, time.Minute)
	b.ReportMetric(float64(unhealthyCount(b, c)-failedBefore), "failed-probes")
}

func unhealthyCount(b *testing.B, c *harness.Client) int32 {
	var n int32
	seen := map[string]bool{}
	for _, e := range c.Events() {
		if e.Reason == "Unhealthy" {
			n += e.Count
			if msg := e.Message[:min(len(e.Message), 60)]; !seen[msg] && len(seen) < 3 {
				seen[msg] = true
				b.Logf("probe failure: %s", e.Message)
			}
		}
	}
	return n
}

func waitAllReady(b *testing.B, c *harness.Client, n int, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := c.MustPodctl("get", "pods", "-o", "json")
		var l corev1.PodList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			b.Fatalf("decode pod list: %v", err)
		}
		readyPods := 0
		for i := range l.Items {
			if harness.PodReady(&l.Items[i]) {
				readyPods++
			}
		}
		if readyPods == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pods Ready after %v", readyPods, n, timeout)
		}
		time.Sleep(time.Second)
	}
}
