package ops

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// logWriters are the shared log writers ("podrund-logger log-writer") and
// the per-container ones ("… cri-logger …") of daemon d.
func logWriters(d *harness.Podrund) (shared []int, perContainer int) {
	for _, p := range harness.ProcessesMentioning(d.Dir) {
		switch {
		case strings.Contains(p.Cmdline, " log-writer "):
			shared = append(shared, p.PID)
		case strings.Contains(p.Cmdline, " cri-logger "):
			perContainer++
		}
	}
	return shared, perContainer
}

// theWriter waits until exactly one shared writer runs and returns its pid.
func theWriter(t *testing.T, d *harness.Podrund) int {
	t.Helper()
	var pid int
	harness.Eventually(t, 30*time.Second, func() string {
		shared, per := logWriters(d)
		if len(shared) != 1 || per != 0 {
			return fmt.Sprintf("shared writers %v and %d per-container ones, want one shared", shared, per)
		}
		pid = shared[0]
		return ""
	})
	return pid
}

// TestSharedLogWriterLosesNoLineWhenKilled: a container writes numbered
// lines in bursts, each once the test says so. Between bursts the test
// SIGKILLs the shared writer (podrund starts it again), podrund (the
// writer goes on alone), and both (the next podrund starts the writer,
// which reattaches): what the container wrote meanwhile waited in its
// FIFO, so its log holds every line once, in order.
func TestSharedLogWriterLosesNoLineWhenKilled(t *testing.T) {
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	const bursts, perBurst = 4, 100
	script := fmt.Sprintf(`i=0; b=1; while [ $b -le %d ]; do
  until [ -e /shared/go$b ]; do sleep 0.05; done
  j=0; while [ $j -lt %d ]; do i=$((i+1)); j=$((j+1)); echo "line $i"; done
  b=$((b+1)); done
until [ -e /shared/stop ]; do sleep 0.05; done`, bursts, perBurst)
	ps := harness.Pod{Name: "numbered", RestartPolicy: "Never",
		Containers: []harness.Container{{Name: "app", Command: []string{"sh", "-c", script}}}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("numbered", "Running", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	touch := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(c.HostDir, "numbered", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Each burst goes out only once the previous one is in the log, so a
	// kill always finds the writer between reads, never holding a line.
	waitLines := func(n int) {
		t.Helper()
		harness.Eventually(t, 60*time.Second, func() string {
			out, _, code := c.Podctl("logs", "numbered")
			if got := strings.Count(out, "\n"); code != 0 || got != n {
				return fmt.Sprintf("%d lines logged (podctl exit %d), want %d", got, code, n)
			}
			return ""
		})
	}
	// kill returns once the process is dead (gone or a zombie): a dying
	// writer must not read what the next burst writes.
	kill := func(pid int) {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 30*time.Second, func() string {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(b) > 0 {
				return fmt.Sprintf("writer %d still runs after SIGKILL", pid)
			}
			return ""
		})
	}
	ctx := t.Context()
	touch("go1")
	waitLines(perBurst)

	first := theWriter(t, d) // the writer dies: podrund starts another
	kill(first)
	touch("go2")
	waitLines(2 * perBurst)
	second := theWriter(t, d)
	if second == first {
		t.Fatalf("writer %d survived SIGKILL", first)
	}

	if err := d.Stop(syscall.SIGKILL); err != nil { // podrund dies: the writer goes on
		t.Fatal(err)
	}
	touch("go3")
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitLines(3 * perBurst)
	if now := theWriter(t, d); now != second {
		t.Fatalf("writer %d after podrund's restart, want %d, which outlives podrund", now, second)
	}

	if err := d.Stop(syscall.SIGKILL); err != nil { // both die
		t.Fatal(err)
	}
	kill(second)
	touch("go4")
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitLines(4 * perBurst)

	touch("stop")
	c.WaitFor("numbered", "Succeeded", 60*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	lines := strings.Split(strings.TrimSuffix(c.Logs("numbered", "app"), "\n"), "\n")
	if len(lines) != bursts*perBurst {
		t.Fatalf("%d lines, want %d", len(lines), bursts*perBurst)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("line %d", i+1); l != want {
			t.Fatalf("line %d is %q, want %q", i+1, l, want)
		}
	}
}

// TestSharedLogWriterServesThirtyContainers: 10 pods of 3 containers log
// through one writer process, not 30, each to its own log; and the writer
// exits once the pods are gone.
func TestSharedLogWriterServesThirtyContainers(t *testing.T) {
	d := env.PrivateDaemon(t)
	c := env.ClientOn(t, d)
	const pods = 10
	names := []string{"a", "b", "c"}
	for i := range pods {
		ps := harness.Pod{Name: fmt.Sprintf("p%d", i), NoSharedDir: true}
		for _, n := range names {
			ps.Containers = append(ps.Containers, harness.Container{Name: n,
				Command: []string{"sh", "-c", fmt.Sprintf("echo hello from p%d/%s; echo oops >&2; exec sleep 3600", i, n)}})
		}
		c.Apply(ps.YAML(c.HostDir))
	}
	for i := range pods {
		c.WaitFor(fmt.Sprintf("p%d", i), "Running", 120*time.Second, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	}
	theWriter(t, d)
	for i := range pods {
		for _, n := range names {
			// The two streams are copied concurrently: either may come first.
			want := fmt.Sprintf("%q", []string{fmt.Sprintf("hello from p%d/%s", i, n), "oops"})
			harness.Eventually(t, 30*time.Second, func() string {
				got := strings.Split(strings.TrimSuffix(c.Logs(fmt.Sprintf("p%d", i), n), "\n"), "\n")
				sort.Strings(got)
				if fmt.Sprintf("%q", got) != want {
					return fmt.Sprintf("p%d/%s logged %q, want the lines %s", i, n, got, want)
				}
				return ""
			})
		}
	}
	for i := range pods {
		c.DeleteAndWait(fmt.Sprintf("p%d", i), "--grace-period", "1")
	}
	harness.Eventually(t, 30*time.Second, func() string {
		if shared, _ := logWriters(d); len(shared) != 0 {
			return fmt.Sprintf("shared writer %v still runs with no container", shared)
		}
		return ""
	})
}
