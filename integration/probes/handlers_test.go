package probes

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// handlerCase is one probe handler type: YAML (indented 6 spaces) for a
// target that answers and for one that does not, the server that provides
// the target (a sidecar of the pod, sharing its network namespace), and what
// the Unhealthy event of a failure says.
type handlerCase struct {
	name     string
	good     string
	bad      string
	server   harness.Container
	failText string
	// noshellGood, if set, is a passing handler aimed at a second probe
	// server (no-shell image, ports 8081/9091) that is probed by all kinds.
	noshellGood string
}

// probe renders a probe of kind (livenessProbe, readinessProbe, startupProbe)
// with handler YAML h, period 1 s and the given failureThreshold.
func probe(kind, h string, failureThreshold int) string {
	return fmt.Sprintf("    %s:\n%s      periodSeconds: 1\n      failureThreshold: %d\n", kind, h, failureThreshold)
}

func handlerCases() []handlerCase {
	return []handlerCase{{
		name: "exec",
		good: "      exec:\n        command: [\"sh\", \"-c\", \"test -d /shared\"]\n",
		bad:  "      exec:\n        command: [\"sh\", \"-c\", \"echo exec-says-no; exit 3\"]\n",
		// exec needs no server; a plain sidecar keeps the pods' shapes alike.
		server:   harness.Container{Name: "server", Sidecar: true, Command: forever("server")},
		failText: "exec-says-no",
	}, {
		name: "httpget",
		good: "      httpGet:\n        path: /healthz\n        port: 8080\n",
		bad:  "      httpGet:\n        path: /missing\n        port: 8080\n",
		server: harness.Container{Name: "server", Sidecar: true, Command: []string{"sh", "-c",
			"mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"},
			Extra: probe("startupProbe", "      tcpSocket:\n        port: 8080\n", 30)},
		failText:    "statuscode: 404",
		noshellGood: "      httpGet:\n        path: /healthz\n        port: 8081\n",
	}, {
		name: "tcpsocket",
		good: "      tcpSocket:\n        port: 7070\n",
		bad:  "      tcpSocket:\n        port: 7071\n",
		server: harness.Container{Name: "server", Sidecar: true, Command: []string{"nc", "-ll", "-p", "7070", "-e", "true"},
			Extra: probe("startupProbe", "      tcpSocket:\n        port: 7070\n", 30)},
		failText:    "connection refused",
		noshellGood: "      tcpSocket:\n        port: 8081\n",
	}, {
		name: "grpc",
		good: "      grpc:\n        port: 9090\n",
		bad:  "      grpc:\n        port: 9090\n        service: nope\n",
		// The static probe server of the no-shell image (built by the suite).
		server: harness.Container{Name: "server", Sidecar: true, Image: harness.ImageNoShell,
			Extra: probe("startupProbe", "      grpc:\n        port: 9090\n", 30)},
		failText:    "NotFound",
		noshellGood: "      grpc:\n        port: 9091\n",
	}}
}

// TestHandlersForEveryProbeKind runs every handler type (exec, httpGet,
// tcpSocket, grpc) as liveness, readiness and startup probe, each against a
// target that answers and one that does not (R40–R47):
//   - good: all three probes pass → started, ready, never restarted;
//   - badstartup: startup fails → killed "failed startup probe", restarted, never started;
//   - badready: readiness fails → started, not ready, Unhealthy, never restarted;
//   - badlive: liveness fails → Unhealthy, killed "failed liveness probe", restarted.
func TestHandlersForEveryProbeKind(t *testing.T) {
	t.Parallel()
	for _, hc := range handlerCases() {
		t.Run(hc.name, func(t *testing.T) {
			t.Parallel()
			runHandlerCase(t, hc)
		})
	}
}

func runHandlerCase(t *testing.T, hc handlerCase) {
	c := env.Client(t)
	pod := "h-" + hc.name
	ps := harness.Pod{Name: pod, Grace: 2, Inits: []harness.Container{hc.server}, Containers: []harness.Container{
		{Name: "good", Command: forever("good"), Extra: probe("startupProbe", hc.good, 3) +
			probe("readinessProbe", hc.good, 3) + probe("livenessProbe", hc.good, 3)},
		{Name: "badstartup", Command: forever("badstartup"), Extra: probe("startupProbe", hc.bad, 2)},
		{Name: "badready", Command: forever("badready"), Extra: probe("readinessProbe", hc.bad, 1)},
		{Name: "badlive", Command: forever("badlive"), Extra: probe("livenessProbe", hc.bad, 1)},
	}}
	if hc.noshellGood != "" {
		// R41: podrund runs httpGet/tcpSocket/grpc itself; the image has no shell or tools.
		ps.Containers = append(ps.Containers, harness.Container{Name: "noshell", Image: harness.ImageNoShell,
			Args: []string{"-http", ":8081", "-grpc", ":9091"},
			Extra: probe("startupProbe", hc.noshellGood, 30) + probe("readinessProbe", hc.noshellGood, 3) +
				probe("livenessProbe", hc.noshellGood, 3)})
	}
	w := c.Watch(pod)
	c.Apply(ps.YAML(c.HostDir))
	w.UntilPod("good ready, bad ones restarted", 120*time.Second, func(p *corev1.Pod) bool {
		return ready(p, "good") && (hc.noshellGood == "" || ready(p, "noshell")) && started(p, "badready") && restarts(p, "badstartup") >= 1 && restarts(p, "badlive") >= 1
	})
	// Each failing probe has been reported by now; after that the good
	// probes must still hold (they ran periodically meanwhile).
	c.WaitEvent(harness.EventFilter{Object: pod, Container: "badready", Reason: "Unhealthy", Message: "Readiness probe failed: "}, 30*time.Second)
	c.WaitEvent(harness.EventFilter{Object: pod, Container: "badlive", Reason: "Unhealthy", Message: "Liveness probe failed: "}, 30*time.Second)
	c.WaitEvent(harness.EventFilter{Object: pod, Container: "badstartup", Reason: "Unhealthy", Message: "Startup probe failed: "}, 30*time.Second)
	c.WaitEvent(harness.EventFilter{Object: pod, Container: "badlive", Reason: "Killing", Message: "failed liveness probe"}, 30*time.Second)
	c.WaitEvent(harness.EventFilter{Object: pod, Container: "badstartup", Reason: "Killing", Message: "failed startup probe"}, 30*time.Second)
	if ev := c.EventsMatching(harness.EventFilter{Object: pod, Container: "badready", Reason: "Unhealthy"}); len(ev) == 0 || !strings.Contains(ev[0].Message, hc.failText) {
		t.Errorf("readiness failure event %v should carry the handler's output %q (R41)", harness.DescribeEvents(ev), hc.failText)
	}
	p := c.GetPod(pod)
	if !started(p, "good") || !ready(p, "good") || restarts(p, "good") != 0 {
		t.Errorf("good container: %+v, want started, ready, 0 restarts", status(p, "good"))
	}
	if hc.noshellGood != "" && (!started(p, "noshell") || !ready(p, "noshell") || restarts(p, "noshell") != 0) {
		t.Errorf("no-shell container: %+v, want started, ready, 0 restarts", status(p, "noshell"))
	}
	if hc.name == "httpget" {
		if out := c.Logs(pod, "noshell"); strings.Count(out, "request GET /healthz") < 3 {
			t.Errorf("no-shell server saw too few probe requests from podrund:\n%s", out)
		}
	}
	if !started(p, "badready") || ready(p, "badready") || restarts(p, "badready") != 0 {
		t.Errorf("badready: %+v, want started, not ready, never restarted (R47)", status(p, "badready"))
	}
	if started(p, "badstartup") {
		t.Errorf("badstartup: %+v, want never started (R45)", status(p, "badstartup"))
	}
	if ready(p, "badstartup") {
		t.Errorf("badstartup ready while its startup probe fails (R46)")
	}
	if harness.PodReady(p) {
		t.Errorf("pod Ready while badready is not: %s", harness.Describe(p))
	}
	for _, ev := range w.History() {
		if ready(ev.Pod, "badstartup") || ready(ev.Pod, "badready") {
			t.Errorf("a failing container was reported ready: %s", harness.Describe(ev.Pod))
			break
		}
	}
}
