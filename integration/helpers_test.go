package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

const image = "busybox:1.28"

// script is a container command in the style of Kubernetes' node e2e
// (container_lifecycle_pod_construction.go): it logs Starting, optionally
// waits, logs Started, then runs Delay seconds (or forever) and logs Exiting
// before exiting with ExitCode. TermDelay/TermExit set what it does on SIGTERM.
type script struct {
	Name       string
	StartDelay int  // seconds between Starting and Started
	Delay      int  // seconds to run after Started
	Forever    bool // run until signalled
	ExitCode   int
	TrapTerm   bool // handle SIGTERM: log, sleep TermDelay, log Exiting, exit TermExit
	TermDelay  int
	TermExit   int
	Before     string // shell run after Starting (e.g. a marker file test)
}

// logLine appends "<uptime> <name> <what>" to the order file of the pod.
func logLine(name, what string) string {
	return fmt.Sprintf(`echo "$(cut -d' ' -f1 /proc/uptime) %s %s" >> /shared/order.log`, name, what)
}

func (s script) shell() string {
	var b []string
	b = append(b, logLine(s.Name, "Starting"))
	if s.TrapTerm {
		b = append(b, fmt.Sprintf(`trap '%s; sleep %d; %s; exit %d' TERM`,
			strings.ReplaceAll(logLine(s.Name, "Terminating"), `'`, `'"'"'`), s.TermDelay,
			strings.ReplaceAll(logLine(s.Name, "Exiting"), `'`, `'"'"'`), s.TermExit))
	}
	if s.Before != "" {
		b = append(b, s.Before)
	}
	if s.StartDelay > 0 {
		b = append(b, fmt.Sprintf("sleep %d", s.StartDelay))
	}
	b = append(b, logLine(s.Name, "Started"))
	if s.Forever {
		// sleep in the background so that a trapped signal is handled at once
		b = append(b, "while true; do sleep 1 & wait $!; done")
	} else if s.Delay > 0 {
		b = append(b, fmt.Sprintf("sleep %d & wait $!", s.Delay))
	}
	b = append(b, logLine(s.Name, "Exiting"), fmt.Sprintf("exit %d", s.ExitCode))
	return strings.Join(b, "; ")
}

// ctr is one container of a test pod.
type ctr struct {
	S       script
	Image   string
	Sidecar bool     // restartPolicy: Always on an init container
	Command []string // overrides S
	Extra   string   // raw YAML lines for the container, indented by 4 spaces
}

// podSpec is a test pod; every container mounts the hostPath "shared" at /shared.
type podSpec struct {
	Name          string
	RestartPolicy string
	Grace         *int
	Inits         []ctr
	Containers    []ctr
	Extra         string // raw YAML lines for spec, indented by 2 spaces
}

// quote renders args as a JSON array, which is also a YAML flow sequence.
func quote(args []string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(args)
	return strings.TrimSpace(b.String())
}

// yaml renders the pod with hostDir as the shared volume.
func (p podSpec) yaml(hostDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n", p.Name)
	if p.RestartPolicy != "" {
		fmt.Fprintf(&b, "  restartPolicy: %s\n", p.RestartPolicy)
	}
	if p.Grace != nil {
		fmt.Fprintf(&b, "  terminationGracePeriodSeconds: %d\n", *p.Grace)
	}
	fmt.Fprintf(&b, "  volumes:\n  - name: shared\n    hostPath:\n      path: %s\n      type: DirectoryOrCreate\n", filepath.Join(hostDir, p.Name))
	b.WriteString(p.Extra)
	list := func(key string, cs []ctr) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "  %s:\n", key)
		for _, c := range cs {
			img := c.Image
			if img == "" {
				img = image
			}
			cmd := c.Command
			if cmd == nil {
				cmd = []string{"sh", "-c", c.S.shell()}
			}
			fmt.Fprintf(&b, "  - name: %s\n    image: %s\n    command: %s\n", c.S.Name, img, quote(cmd))
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

func intp(i int) *int { return &i }

// orderLine is one line of a pod's order.log.
type orderLine struct {
	At    float64 // host uptime seconds
	Name  string
	Event string
}

func (l orderLine) String() string { return fmt.Sprintf("%.2f %s %s", l.At, l.Name, l.Event) }

// orderLog reads the order file the pod's containers wrote.
func orderLog(t *testing.T, c *harness.Client, pod string) []orderLine {
	t.Helper()
	raw := c.ReadHostFile(filepath.Join(pod, "order.log"))
	var out []orderLine
	for _, line := range strings.Split(strings.TrimSpace(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		at, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("order.log line %q: %v", line, err)
		}
		out = append(out, orderLine{At: at, Name: f[1], Event: strings.Join(f[2:], " ")})
	}
	return out
}

// waitLines reads the pod's order file until every "name event" of want is
// in it (a container can be running before its first echo ran).
func waitLines(t *testing.T, c *harness.Client, pod string, want ...string) []orderLine {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines := orderLog(t, c, pod)
		missing := ""
		for _, w := range want {
			name, event, _ := strings.Cut(w, " ")
			if find(lines, name, event, 0) < 0 {
				missing = w
			}
		}
		if missing == "" {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("order file of %s lacks %q after 15s:\n%s", pod, missing, dump(lines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCount reads the pod's order file until "name event" appears n times.
func waitCount(t *testing.T, c *harness.Client, pod, line string, n int) []orderLine {
	t.Helper()
	name, event, _ := strings.Cut(line, " ")
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines := orderLog(t, c, pod)
		if count(lines, name, event) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("order file of %s has %q fewer than %d times after 15s:\n%s", pod, line, n, dump(lines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// find returns the index of the n-th (0-based) line "name event", or -1.
func find(lines []orderLine, name, event string, n int) int {
	for i, l := range lines {
		if l.Name == name && l.Event == event {
			if n == 0 {
				return i
			}
			n--
		}
	}
	return -1
}

func count(lines []orderLine, name, event string) int {
	n := 0
	for _, l := range lines {
		if l.Name == name && l.Event == event {
			n++
		}
	}
	return n
}

// expectOrder checks that each "name event" (first occurrence) appears, in
// the given order.
func expectOrder(t *testing.T, lines []orderLine, steps ...string) {
	t.Helper()
	last := -1
	for _, s := range steps {
		name, event, _ := strings.Cut(s, " ")
		i := find(lines, name, event, 0)
		if i < 0 {
			t.Errorf("order: %q never happened; log:\n%s", s, dump(lines))
			return
		}
		if i < last {
			t.Errorf("order: %q came before %q; log:\n%s", s, steps[0], dump(lines))
			return
		}
		last = i
	}
}

func dump(lines []orderLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l.String() + "\n")
	}
	return b.String()
}

// gap returns seconds between the first "a" and first "b" lines.
func gap(t *testing.T, lines []orderLine, a, b string) float64 {
	t.Helper()
	an, ae, _ := strings.Cut(a, " ")
	bn, be, _ := strings.Cut(b, " ")
	i, j := find(lines, an, ae, 0), find(lines, bn, be, 0)
	if i < 0 || j < 0 {
		t.Fatalf("gap %q→%q: missing line; log:\n%s", a, b, dump(lines))
	}
	return lines[j].At - lines[i].At
}

// status, running and terminated read a container's status (harness).
var (
	status     = harness.ContainerStatus
	running    = harness.Running
	terminated = harness.Terminated
)

func restarts(p *corev1.Pod, name string) int32 {
	if s := status(p, name); s != nil {
		return s.RestartCount
	}
	return -1
}

func phaseIs(ph corev1.PodPhase) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool { return p.Status.Phase == ph }
}

// logsUntil follows `podctl logs -f` until want has appeared n times.
func logsUntil(t *testing.T, c *harness.Client, pod, container, want string, n int, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Env.Bins.Podctl, "--socket", c.Daemon.Socket, "-n", c.NS, "logs", pod, "-c", container, "-f")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	var got strings.Builder
	seen := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), want) {
			seen++
			if seen >= n {
				return got.String()
			}
		}
	}
	t.Fatalf("podctl logs %s -c %s -f: saw %q %d/%d times before end/timeout; output:\n%s\nstderr: %s",
		pod, container, want, seen, n, got.String(), stderr.String())
	return ""
}

// seed returns the path of a seed example.
func seed(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(env.Seeds, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("seed example %s: %v", name, err)
	}
	return p
}
