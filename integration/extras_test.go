package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/integration/harness"
)

// TestLogsPreviousTailTimestamps: one log per instance; --previous reads the
// instance before the current one (docs/contract.md §4); --tail and --timestamps.
func TestLogsPreviousTailTimestamps(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.PodManifest("logs", `
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "n=$(cat /shared/n 2>/dev/null || echo 0); echo $((n+1)) > /shared/n; echo run $n line a; sleep 0.2; echo run $n line b >&2; sleep 0.2; echo run $n line c; if [ $n = 0 ]; then exit 1; fi; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
    volumeMounts:
    - name: shared
      mountPath: /shared
  volumes:
  - name: shared
    emptyDir: {}
`))
	c.WaitFor("logs", "second instance running", 60*time.Second, func(p *corev1.Pod) bool {
		return restarts(p, "app") == 1 && running(p, "app")
	})
	cur := logsUntil(t, c, "logs", "app", "run 1 line c", 1, 20*time.Second)
	// stdout and stderr are two pipes; only lines of one stream keep their order.
	if strings.Contains(cur, "run 0") {
		t.Errorf("current log holds the previous run: %q", cur)
	}
	if !strings.Contains(cur, "run 1 line b") {
		t.Errorf("stderr line missing from the log: %q", cur)
	}
	prev := c.Logs("logs", "app", "--previous")
	if !strings.Contains(prev, "run 0 line a\nrun 0 line b\nrun 0 line c") || strings.Contains(prev, "run 1") {
		t.Errorf("--previous = %q, want exactly run 0's lines in order", prev)
	}
	if tail := c.Logs("logs", "app", "--previous", "--tail", "1"); strings.TrimSpace(tail) != "run 0 line c" {
		t.Errorf("--tail 1 = %q", tail)
	}
	ts := c.Logs("logs", "app", "--previous", "--timestamps")
	re := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) run 0 line a$`)
	if !re.MatchString(ts) {
		t.Errorf("--timestamps = %q, want RFC3339 timestamp then the line", ts)
	}
}

// TestExec: stdout, stderr, stdin and the exit code travel through podctl exec.
func TestExec(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	runApp(c, "ex")
	out, errOut, code := c.Podctl("exec", "ex", "-c", "app", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if out != "out\n" || !strings.Contains(errOut, "err") || code != 3 {
		t.Errorf("exec: stdout %q stderr %q exit %d; want out, err, 3", out, errOut, code)
	}
	out, _, code = c.PodctlStdin(strings.NewReader("hello stdin\n"), "exec", "-i", "ex", "-c", "app", "--", "cat")
	if out != "hello stdin\n" || code != 0 {
		t.Errorf("exec -i cat: %q exit %d", out, code)
	}
	if _, errOut, code := c.Podctl("exec", "ex", "-c", "nope", "--", "true"); code != 1 || errOut == "" {
		t.Errorf("exec into a missing container: exit %d %q; want exit 1 with a message", code, errOut)
	}
}

// TestImageStopSignalAndUser: the image's STOPSIGNAL is the stop signal (R58
// step 6); the image's User applies unless the pod overrides it.
func TestImageStopSignalAndUser(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	sig := []string{"sh", "-c", "trap '" + strings.ReplaceAll(harness.OrderMark("app", "USR1"), "'", `'"'"'`) + "; exit 0' USR1; trap '" +
		strings.ReplaceAll(harness.OrderMark("app", "TERM"), "'", `'"'"'`) + "; exit 0' TERM; " + harness.OrderMark("app", "Starting") + "; while true; do sleep 1 & wait $!; done"}
	ps := harness.Pod{Name: "sig", Containers: []harness.Container{
		{Name: "app", Image: harness.ImageStopSignal, Command: sig},
		{Name: "user", Image: harness.ImageUser, Command: []string{"sh", "-c", "id -u; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"}},
		{Name: "root", Image: harness.ImageUser, Command: []string{"sh", "-c", "id -u; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"},
			Extra: "    securityContext:\n      runAsUser: 0\n"},
	}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitFor("sig", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("sig", orderWait, "app Starting")
	logsUntil(t, c, "sig", "user", "1000", 1, 10*time.Second)
	logsUntil(t, c, "sig", "root", "0", 1, 10*time.Second)
	final := c.DeleteAndWait("sig")
	lines := c.ReadOrder("sig")
	if lines.Index("app", "USR1") < 0 || lines.Index("app", "TERM") >= 0 {
		t.Errorf("stop signal: want SIGUSR1 from the image's STOPSIGNAL, log:\n%s", lines)
	}
	if s := terminated(final, "app"); s == nil || s.ExitCode != 0 {
		t.Errorf("app final %+v", s)
	}
}

// TestProbesAgainstNoShellImage: httpGet, tcpSocket and grpc probes and an
// httpGet postStart hook against the static probe server (no shell to exec).
//
// The hook targets a second probe server, "web", started before "server":
// a postStart hook runs as soon as the process is started, as the kubelet
// runs it, so a hook aimed at the container's own port races its listen and
// a refused hook kills the instance (R53); under load that repeated into
// a crash loop. web's startup probe holds server back until web listens
// (R12), so every instance of server reaches it.
func TestProbesAgainstNoShellImage(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(harness.PodManifest("probes", `
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: web
    image: `+harness.ImageNoShell+`
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    args: ["-http", ":8081", "-grpc", ":9091"]
    startupProbe:
      httpGet:
        path: /healthz
        port: 8081
      periodSeconds: 1
  - name: server
    image: `+harness.ImageNoShell+`
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    startupProbe:
      tcpSocket:
        port: 8080
      periodSeconds: 1
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      grpc:
        port: 9090
      periodSeconds: 1
      failureThreshold: 3
    lifecycle:
      postStart:
        httpGet:
          path: /status/200
          port: 8081
          host: 127.0.0.1
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]
`))
	c.WaitFor("probes", "Ready", 60*time.Second, harness.PodReady)
	// Make the server unhealthy: readiness (http) fails → not Ready; liveness
	// (grpc NOT_SERVING) fails → the sidecar is restarted, healthy again.
	c.MustPodctl("exec", "probes", "-c", "app", "--", "wget", "-qO-", "http://127.0.0.1:8080/set?healthy=false")
	w := c.Watch("probes")
	n := restarts(w.UntilPod("not Ready", 30*time.Second, func(p *corev1.Pod) bool { return !harness.PodReady(p) }), "server")
	p := w.UntilPod("server restarted by liveness and Ready again", 60*time.Second, func(p *corev1.Pod) bool {
		return restarts(p, "server") > n && harness.PodReady(p)
	})
	if restarts(p, "app") != 0 || restarts(p, "web") != 0 {
		t.Errorf("app or web restarted: %s", harness.Describe(p))
	}
	c.WaitEvent(harness.EventFilter{Object: "probes", Reason: "Unhealthy", Message: "Readiness probe failed"}, 5*time.Second)
	c.WaitEvent(harness.EventFilter{Object: "probes", Reason: "Killing", Message: "failed liveness probe"}, 5*time.Second)
	for _, ev := range c.EventsMatching(harness.EventFilter{Object: "probes", Reason: "FailedPostStartHook"}) {
		t.Errorf("postStart hook failed against a listening server: %s", ev.Message)
	}
	// Once per instance of server: the first and the one liveness restarted.
	if got := strings.Count(c.Logs("probes", "web"), "request GET /status/200"); got != 2 {
		t.Errorf("web saw the postStart hook %d times, want 2 (one per instance of server)", got)
	}
}

// TestPullAlwaysOffline: imagePullPolicy Always (the default for :latest)
// with an unreachable registry and the image present: the container runs,
// also on every restart, and a Warning event says the pull failed.
func TestPullAlwaysOffline(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	app := script{Name: "app", Delay: 1, ExitCode: 1}.container()
	app.Image = "busybox:latest"
	ps := harness.Pod{Name: "offline", Containers: []harness.Container{app}}
	c.Apply(ps.YAML(c.HostDir))
	p := c.WaitFor("offline", "restarted twice", 60*time.Second, func(p *corev1.Pod) bool { return restarts(p, "app") >= 2 })
	if p.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("imagePullPolicy defaulted to %q for :latest, want Always", p.Spec.Containers[0].ImagePullPolicy)
	}
	for _, ev := range c.EventsMatching(harness.EventFilter{Object: "offline", Reason: "Failed", Message: "ImagePullBackOff"}) {
		t.Errorf("event %s %q: the present image must be used when the registry is unreachable", ev.Reason, ev.Message)
	}
	found := false
	for _, ev := range c.EventsMatching(harness.EventFilter{Object: "offline", Type: corev1.EventTypeWarning}) {
		found = found || strings.Contains(strings.ToLower(ev.Message), "pull")
	}
	if !found {
		t.Errorf("no Warning event about the failed pull; events:\n%s",
			harness.DescribeEvents(c.EventsMatching(harness.EventFilter{Object: "offline"})))
	}
}

// TestActiveDeadline: activeDeadlineSeconds fails the pod with reason
// DeadlineExceeded and stops everything (R70).
func TestActiveDeadline(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	// The stop order is read from the TERM traps. A TERM that reaches a
	// shell before its trap is lost (PID 1 ignores it) and the container is
	// SIGKILLed at the end of the grace without a line: a deadline set at
	// creation (6 s once) fired before the app's shell ran on a loaded
	// host. So the deadline is set in place (R93) once both shells have
	// their trap ("Started" comes after it); it counts from startTime (R70),
	// so it is due at once or within the second.
	ps := harness.Pod{Name: "dl",
		Inits:      []harness.Container{script{Name: "side", Forever: true, TrapTerm: true}.sidecar()},
		Containers: []harness.Container{trapApp()}}
	c.Apply(ps.YAML(c.HostDir))
	c.WaitOrder("dl", 60*time.Second, "side Started", "app Started")
	uid := c.GetPod("dl").UID
	ps.Extra = "  activeDeadlineSeconds: 1\n"
	if out := c.Apply(ps.YAML(c.HostDir)); strings.TrimSpace(out) != "pod/dl configured" {
		t.Fatalf("setting activeDeadlineSeconds: %q, want configured (in place)", out)
	}
	p := c.WaitFor("dl", "Failed and stopped", 60*time.Second, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && terminated(p, "side") != nil && terminated(p, "app") != nil
	})
	if p.UID != uid {
		t.Errorf("the pod was replaced (UID %s, was %s): activeDeadlineSeconds is an in-place change (R93)", p.UID, uid)
	}
	if p.Status.Reason != "DeadlineExceeded" || !strings.Contains(p.Status.Message, "deadline") {
		t.Errorf("status reason %q message %q, want DeadlineExceeded (R70)", p.Status.Reason, p.Status.Message)
	}
	harness.ExpectOrder(t, c.ReadOrder("dl"), "app Exiting", "side Exiting")
	// (kubectl's STATUS shows the app's terminated reason here, Completed, not
	// the pod reason: printPod lets container reasons override it, R92.)
}

// TestApplySemantics: unchanged / configured; an image-only change is in
// place; any other change replaces the pod (new UID) after the old is gone.
func TestApplySemantics(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	ps := harness.Pod{Name: "ap", Containers: []harness.Container{trapApp()}}
	if out := c.Apply(ps.YAML(c.HostDir)); strings.TrimSpace(out) != "pod/ap created" {
		t.Errorf("first apply: %q", out)
	}
	first := c.WaitFor("ap", "Ready", 60*time.Second, harness.PodReady)
	c.WaitOrder("ap", orderWait, "app Started")
	if out := c.Apply(ps.YAML(c.HostDir)); strings.TrimSpace(out) != "pod/ap unchanged" {
		t.Errorf("same apply: %q, want unchanged", out)
	}
	ps.Containers[0].Extra = "    env:\n    - name: X\n      value: \"1\"\n"
	if out := c.Apply(ps.YAML(c.HostDir)); strings.TrimSpace(out) != "pod/ap configured" {
		t.Errorf("env change: %q, want configured", out)
	}
	p := c.WaitFor("ap", "replaced and Ready", 90*time.Second, func(p *corev1.Pod) bool { return p.UID != first.UID && harness.PodReady(p) })
	if len(p.Spec.Containers[0].Env) != 1 {
		t.Errorf("replacement lacks the new env: %+v", p.Spec.Containers[0].Env)
	}
	lines := waitCount(c, "ap", "app Starting", 2)
	// The old instance had stopped before the new one started.
	if i, j := lines.Index("app", "Exiting"), nth(lines, "app", "Starting", 1); i < 0 || j < 0 || j < i {
		t.Errorf("replacement started before the old pod stopped:\n%s", lines)
	}
}

// TestConfigMapAndSecret: env from a ConfigMap and a Secret volume.
func TestConfigMapAndSecret(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	c.Apply(configMapAndSecret("cfg", "greeting", "hello-from-configmap", "sec", "token", "s3cr3t") + harness.PodManifest("cfgpod", `
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:1.28
    command: ["sh", "-c", "echo $GREETING; cat /secret/token; echo"]
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef:
          name: cfg
          key: greeting
    volumeMounts:
    - name: s
      mountPath: /secret
  volumes:
  - name: s
    secret:
      secretName: sec
`))
	c.WaitFor("cfgpod", "Succeeded", 60*time.Second, phaseIs(corev1.PodSucceeded))
	if out := c.Logs("cfgpod", "app"); out != "hello-from-configmap\ns3cr3t\n" {
		t.Errorf("log %q", out)
	}
}

// TestPodctlOutputs: the output formats of docs/contract.md §2.
func TestPodctlOutputs(t *testing.T) {
	t.Parallel()
	c := env.Client(t)
	runApp(c, "out")
	if got := c.MustPodctl("get", "pods", "-o", "name"); strings.TrimSpace(got) != "pod/out" {
		t.Errorf("-o name: %q", got)
	}
	var list corev1.PodList
	if err := json.Unmarshal([]byte(c.MustPodctl("get", "pods", "-o", "json")), &list); err != nil || list.Kind != "List" || len(list.Items) != 1 {
		t.Errorf("-o json list: kind %q items %d err %v", list.Kind, len(list.Items), err)
	}
	if y := c.MustPodctl("get", "pod", "out", "-o", "yaml"); !strings.Contains(y, "kind: Pod") || !strings.Contains(y, "phase: Running") {
		t.Errorf("-o yaml:\n%s", y)
	}
	if w := c.MustPodctl("get", "pods", "-o", "wide"); !strings.Contains(w, "IP") || !harness.TableHasRow(w, "out", "1/1", "Running") {
		t.Errorf("-o wide:\n%s", w)
	}
	if all := c.MustPodctl("get", "pods", "-A"); !strings.Contains(all, "NAMESPACE") || !strings.Contains(all, c.NS) {
		t.Errorf("-A:\n%s", all)
	}
	if d := c.MustPodctl("describe", "pod", "out"); !strings.Contains(d, "Name:") || !strings.Contains(d, "Started container app") {
		t.Errorf("describe:\n%s", d)
	}
	code, body := c.REST("GET", "/metrics", "", nil)
	if code != 200 || !strings.Contains(string(body), "# TYPE") {
		t.Errorf("/metrics: %d %.200s", code, body)
	}
	var v struct{ Version, GoVersion, Containerd string }
	if err := json.Unmarshal([]byte(c.MustPodctl("version", "-o", "json")), &v); err != nil {
		// version's table form is fine too; the REST shape is what the contract fixes.
		code, body := c.REST("GET", "/version", "", nil)
		if code != 200 || json.Unmarshal(body, &v) != nil || v.GoVersion == "" || v.Containerd == "" {
			t.Errorf("/version: %d %s", code, body)
		}
	}
}
