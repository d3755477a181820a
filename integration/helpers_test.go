package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

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

// trapApp is the container app that records its order marks, handles
// SIGTERM and runs until signalled.
func trapApp() harness.Container {
	return script{Name: "app", Forever: true, TrapTerm: true}.container()
}

// runApp applies the pod name of one trapApp container and waits until it
// is Ready.
func runApp(c *harness.Client, name string) {
	c.T.Helper()
	ps := harness.Pod{Name: name, Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor(name, "Ready", 60*time.Second, harness.PodReady)
}

func (s script) shell() string {
	var b []string
	b = append(b, harness.OrderMark(s.Name, "Starting"))
	if s.TrapTerm {
		b = append(b, fmt.Sprintf(`trap '%s; sleep %d; %s; exit %d' TERM`,
			strings.ReplaceAll(harness.OrderMark(s.Name, "Terminating"), `'`, `'"'"'`), s.TermDelay,
			strings.ReplaceAll(harness.OrderMark(s.Name, "Exiting"), `'`, `'"'"'`), s.TermExit))
	}
	if s.Before != "" {
		b = append(b, s.Before)
	}
	if s.StartDelay > 0 {
		b = append(b, fmt.Sprintf("sleep %d", s.StartDelay))
	}
	b = append(b, harness.OrderMark(s.Name, "Started"))
	if s.Forever {
		// sleep in the background so that a trapped signal is handled at once
		b = append(b, "while true; do sleep 1 & wait $!; done")
	} else if s.Delay > 0 {
		b = append(b, fmt.Sprintf("sleep %d & wait $!", s.Delay))
	}
	b = append(b, harness.OrderMark(s.Name, "Exiting"), fmt.Sprintf("exit %d", s.ExitCode))
	return strings.Join(b, "; ")
}

// container is a test container (harness.Busybox) that runs s.
func (s script) container() harness.Container {
	return harness.Container{Name: s.Name, Command: []string{"sh", "-c", s.shell()}}
}

// sidecar is s in an init container with restartPolicy Always.
func (s script) sidecar() harness.Container {
	c := s.container()
	c.Sidecar = true
	return c
}

// withExtra returns c with raw YAML lines (indented by 4 spaces) added:
// probes, hooks, env.
func withExtra(c harness.Container, yaml string) harness.Container {
	c.Extra += yaml
	return c
}

// awaitSteps is shell (for script.Before) that waits until every step
// ("name event") is in the pod's order file: a container that must not act
// before another's shell has run (a TERM trap installed, R17: a sidecar
// without a startup probe is started before its shell ran) waits for it.
func awaitSteps(steps ...string) string {
	var conds []string
	for _, s := range steps {
		conds = append(conds, fmt.Sprintf(`grep -q " %s$" /shared/%s`, s, harness.OrderFile))
	}
	return "until " + strings.Join(conds, " && ") + "; do sleep 0.1; done"
}

// waitTrapped waits until PID 1 of each named container of pod catches
// SIGTERM (bit 15 of SigCgt in /proc/1/status), for shells whose trap is
// their first command and that write no line: Running says the process
// runs, not that its shell got that far, and a TERM before the trap is lost
// (PID 1 of a PID namespace ignores signals it has no handler for).
func waitTrapped(c *harness.Client, pod string, containers ...string) {
	c.T.Helper()
	for _, name := range containers {
		harness.Eventually(c.T, 30*time.Second, func() string {
			out, _, code := c.Podctl("exec", pod, "-c", name, "--", "sh", "-c",
				`mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/1/status); [ $(( 0x$mask & 0x4000 )) -ne 0 ] && echo trapped`)
			if code == 0 && strings.Contains(out, "trapped") {
				return ""
			}
			return pod + "/" + name + " never set its TERM trap"
		})
	}
}

// orderWait bounds a wait for lines of an order file once the pod's status
// says they are due: a container is reported running before its first echo.
const orderWait = 15 * time.Second

// waitCount reads the pod's order file until step ("name event") is in it
// n times.
func waitCount(c *harness.Client, pod, step string, n int) harness.Order {
	c.T.Helper()
	name, event, _ := strings.Cut(step, " ")
	return c.WaitOrderUntil(pod, fmt.Sprintf("%q %d times", step, n), orderWait, func(o harness.Order) bool {
		return o.Count(name, event) >= n
	})
}

// nth returns the index of the n-th (0-based) line of name with event, or
// -1: Order.Index finds only the first, and a restarted container writes
// the same lines once a run.
func nth(o harness.Order, name, event string, n int) int {
	at := -1
	for ; n >= 0; n-- {
		i := o[at+1:].Index(name, event)
		if i < 0 {
			return -1
		}
		at += 1 + i
	}
	return at
}

// gap returns the seconds between the first lines of steps a and b.
func gap(t *testing.T, o harness.Order, a, b string) float64 {
	t.Helper()
	i, j := o.Find(a), o.Find(b)
	if i < 0 || j < 0 {
		t.Fatalf("gap %q→%q: missing line; log:\n%s", a, b, o)
	}
	return o[j].At - o[i].At
}

// status, running and terminated read a container's status (harness).
var (
	status     = harness.ContainerStatus
	running    = harness.Running
	terminated = harness.Terminated
)

// restarts returns the restartCount of the container name of p, or -1 when
// p has no status for it: unlike the 0 of integration/probes' restarts, a
// missing status then fails checks such as `restarts(p, "app") != 0`
// instead of passing them as "never restarted".
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
	cmd, out, stderr := c.StartPodctl(ctx, "logs", pod, "-c", container, "-f")
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

// configMapAndSecret is a ConfigMap and a Secret of one key each, as the
// first documents of a manifest (each ends with "---").
func configMapAndSecret(cm, cmKey, cmValue, secret, secretKey, secretValue string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  %s: %s\n---\n", cm, cmKey, cmValue) +
		fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\nstringData:\n  %s: %s\n---\n", secret, secretKey, secretValue)
}
