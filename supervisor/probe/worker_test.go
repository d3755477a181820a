package probe

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	testingclock "k8s.io/utils/clock/testing"
)

// R40, R42, R43: liveness starts as Success, needs failureThreshold
// consecutive failures, reports the Failure once and then holds.
func TestR42LivenessFailureThreshold(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("live", 0, 1, 0, 1, 1, 1)
	c := &corev1.Container{Name: "app", LivenessProbe: execProbeSpec("live", 10, 3, 1)}
	addApp(t, m, clk, c)

	nextCall(t, f, "live") // at worker start, no initial delay
	for i := 0; i < 4; i++ {
		noUpdate(t, m) // success, failure, success resets the count, failure, failure
		clk.Step(10 * time.Second)
		nextCall(t, f, "live")
	}
	noUpdate(t, m)
	clk.Step(10 * time.Second)
	nextCall(t, f, "live") // third consecutive failure
	u := expectUpdate(t, m, results.Liveness, results.Failure)
	if u.PodUID != "uid-p" || u.Container != "app" || u.InstanceID != "i1" || u.Output != "live output" {
		t.Fatalf("update = %+v", u)
	}
	clk.Step(10 * time.Second)
	noCall(t, f, "live") // on hold until a new instance (R43)
}

// R40, R42: readiness starts as Failure; successThreshold consecutive
// successes make it Success; only changes are reported.
func TestR42ReadinessSuccessThreshold(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("ready", 0, 0, 0, 1, 1, 0)
	c := &corev1.Container{Name: "app", ReadinessProbe: execProbeSpec("ready", 5, 2, 2)}
	addApp(t, m, clk, c)

	want := []*results.Result{nil, ptr(results.Success), nil, nil, ptr(results.Failure), nil}
	for i, w := range want {
		if i > 0 {
			clk.Step(5 * time.Second)
		}
		nextCall(t, f, "ready")
		if w == nil {
			noUpdate(t, m)
			continue
		}
		expectUpdate(t, m, results.Readiness, *w)
	}
	clk.Step(5 * time.Second)
	nextCall(t, f, "ready") // readiness never holds
}

func ptr[T any](v T) *T { return &v }

// R42: ticks are skipped while now - startedAt < initialDelaySeconds.
func TestR42InitialDelay(t *testing.T) {
	_, f, m, clk := scriptedManager()
	p := execProbeSpec("ready", 10, 3, 1)
	p.InitialDelaySeconds = 15
	c := &corev1.Container{Name: "app", ReadinessProbe: p}
	addApp(t, m, clk, c)

	noCall(t, f, "ready") // t=0
	clk.Step(10 * time.Second)
	noCall(t, f, "ready") // t=10 < 15
	clk.Step(10 * time.Second)
	nextCall(t, f, "ready") // t=20
	expectUpdate(t, m, results.Readiness, results.Success)
}

// R42: one attempt per period, none in between.
func TestR42Period(t *testing.T) {
	_, f, m, clk := scriptedManager()
	c := &corev1.Container{Name: "app", LivenessProbe: execProbeSpec("live", 7, 3, 1)}
	addApp(t, m, clk, c)

	nextCall(t, f, "live")
	for i := 0; i < 3; i++ {
		clk.Step(6 * time.Second)
		noCall(t, f, "live")
		clk.Step(time.Second)
		nextCall(t, f, "live")
	}
}

// R41: an exec exceeding timeoutSeconds is a failure.
func TestR41ExecTimeout(t *testing.T) {
	f := newFakeProber(func(ctx context.Context, _ string, _ []string, _ io.Writer) (int, error) {
		<-ctx.Done() // a command that never ends; the runtime honours ctx
		return -1, ctx.Err()
	})
	m, clk := newTestManager(f)
	p := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "10"}}},
		TimeoutSeconds:   1,
		FailureThreshold: 1,
	}
	m.AddInstance(testPod("p"), &corev1.Container{Name: "app", LivenessProbe: p}, "i1", clk.Now())
	defer m.RemoveInstance("i1")
	start := time.Now()
	u := expectUpdate(t, m, results.Liveness, results.Failure)
	if u.Output != `command "sleep 10" timed out` {
		t.Fatalf("output = %q", u.Output)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed out after %v, want ~1s", d)
	}
}

// R41 (kubelet): an exec the runtime could not run is neither success nor
// failure.
func TestExecErrorIsDiscarded(t *testing.T) {
	f := newFakeProber(func(context.Context, string, []string, io.Writer) (int, error) {
		return -1, io.ErrClosedPipe
	})
	m, clk := newTestManager(f)
	c := &corev1.Container{Name: "app", LivenessProbe: execProbeSpec("live", 1, 1, 1)}
	addApp(t, m, clk, c)
	for i := 0; i < 3; i++ {
		nextCall(t, f, "live")
		clk.Step(time.Second)
	}
	noUpdate(t, m)
}

// R43, R45: liveness and readiness wait for the startup probe; startup
// stops once it succeeded; readiness is probed at once then (R44).
func TestR43StartupGating(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("startup", 1, 1, 0)
	c := &corev1.Container{
		Name:           "side",
		StartupProbe:   execProbeSpec("startup", 10, 30, 1),
		LivenessProbe:  execProbeSpec("live", 10, 3, 1),
		ReadinessProbe: execProbeSpec("ready", 30, 3, 1),
	}
	addApp(t, m, clk, c)

	nextCall(t, f, "startup")
	noCall(t, f, "live")
	noCall(t, f, "ready")
	clk.Step(10 * time.Second)
	nextCall(t, f, "startup")
	noUpdate(t, m)
	clk.Step(10 * time.Second)
	nextCall(t, f, "startup")
	expectUpdate(t, m, results.Startup, results.Success)
	callsOf(t, f, "live", "ready") // both gated workers probe at once
	expectUpdate(t, m, results.Readiness, results.Success)
	clk.Step(10 * time.Second)
	nextCall(t, f, "live")
	noCall(t, f, "startup")
}

// R43: a startup Failure reaching the threshold is reported and holds.
func TestR43StartupFailureHolds(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("startup", 1)
	c := &corev1.Container{Name: "app", StartupProbe: execProbeSpec("startup", 1, 2, 1),
		ReadinessProbe: execProbeSpec("ready", 1, 1, 1)}
	addApp(t, m, clk, c)
	nextCall(t, f, "startup")
	clk.Step(time.Second)
	nextCall(t, f, "startup")
	expectUpdate(t, m, results.Startup, results.Failure)
	clk.Step(time.Second)
	noCall(t, f, "startup")
	noCall(t, f, "ready")
}

// R44: ProbeReadinessNow probes at once and restarts the period.
func TestR44ReadinessNow(t *testing.T) {
	_, f, m, clk := scriptedManager()
	c := &corev1.Container{Name: "app", ReadinessProbe: execProbeSpec("ready", 30, 3, 1)}
	addApp(t, m, clk, c)
	nextCall(t, f, "ready")
	expectUpdate(t, m, results.Readiness, results.Success)

	clk.Step(10 * time.Second)
	m.ProbeReadinessNow("i1")
	nextCall(t, f, "ready")
	clk.Step(20 * time.Second) // the old schedule's tick (t=30) is gone
	noCall(t, f, "ready")
	clk.Step(10 * time.Second) // t=40: 30 s after the out-of-band attempt
	nextCall(t, f, "ready")
	m.ProbeReadinessNow("unknown") // no-op
}

// R49: termination stops liveness and startup (forced to Success, so the
// container counts as started) while readiness goes on.
func TestR49StopLivenessAndStartup(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("startup", 1)
	res.set("ready", 1)
	pod := testPod("p")
	c := &corev1.Container{Name: "app", StartupProbe: execProbeSpec("startup", 1, 100, 1),
		ReadinessProbe: execProbeSpec("ready", 1, 1, 1)}
	c2 := &corev1.Container{Name: "other", LivenessProbe: execProbeSpec("live", 1, 2, 1)}
	m.AddInstance(pod, c, "i1", clk.Now())
	defer m.RemoveInstance("i1")
	m.AddInstance(pod, c2, "i2", clk.Now())
	defer m.RemoveInstance("i2")
	callsOf(t, f, "startup", "live")
	noCall(t, f, "ready")

	m.StopLivenessAndStartup(pod.UID)
	u := expectUpdate(t, m, results.Startup, results.Success)
	if u.InstanceID != "i1" {
		t.Fatalf("update = %+v", u)
	}
	nextCall(t, f, "ready") // readiness runs during termination
	// Readiness stays Failure (only the failed attempt is noticed); liveness
	// was Success already.
	expectReadinessNotice := func() {
		t.Helper()
		if u := <-m.Updates(); u.Kind != results.Readiness || u.Result != results.Failure || !u.Failed {
			t.Fatalf("update = %+v, want a readiness failure notice", u)
		}
	}
	expectReadinessNotice()
	noUpdate(t, m)
	for i := 0; i < 3; i++ {
		clk.Step(time.Second)
		select {
		case call := <-f.calls:
			if call.command[0] != "ready" {
				t.Fatalf("%s probed during termination", call.command[0])
			}
			expectReadinessNotice()
		case <-time.After(waitLimit):
			t.Fatal("readiness stopped during termination")
		}
	}
	noCall(t, f, "startup")
	noCall(t, f, "live")

	// An instance added during termination gets no liveness or startup.
	m.AddInstance(pod, c, "i3", clk.Now())
	defer m.RemoveInstance("i3")
	expectUpdate(t, m, results.Startup, results.Success)
	noCall(t, f, "startup")
}

// R40: a new instance starts from the initial results and probes again.
func TestR40NewInstanceResets(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("live", 1)
	c := &corev1.Container{Name: "app", LivenessProbe: execProbeSpec("live", 1, 1, 1)}
	m.AddInstance(testPod("p"), c, "i1", clk.Now())
	expectUpdate(t, m, results.Liveness, results.Failure)
	m.RemoveInstance("i1")
	res.set("live", 0)
	m.AddInstance(testPod("p"), c, "i2", clk.Now())
	defer m.RemoveInstance("i2")
	call := nextCall(t, f, "live")
	for call.instance != "i2" {
		call = nextCall(t, f, "live")
	}
	noUpdate(t, m) // Success is the initial liveness result: no change
}

// Exec probes expand $(VAR) with the container's literal env.
func TestExecCommandExpansion(t *testing.T) {
	c := &corev1.Container{Env: []corev1.EnvVar{{Name: "PORT", Value: "8080"},
		{Name: "FROM", ValueFrom: &corev1.EnvVarSource{}}}}
	got := strings.Join(expandCommand([]string{"check", "$(PORT)", "$$(PORT)", "$(FROM)", "$(NONE)", "a$b", "$("}, c), "|")
	if want := "check|8080|$(PORT)|$(FROM)|$(NONE)|a$b|$("; got != want {
		t.Fatalf("expanded = %q, want %q", got, want)
	}
}

// R42: probes of an instance adopted after a podrund restart (started before
// the manager) begin after a random part of one period, not all at once.
func TestR42AdoptedInstanceSpread(t *testing.T) {
	_, f, m, clk := scriptedManager()
	c := &corev1.Container{Name: "app", LivenessProbe: execProbeSpec("live", 10, 3, 1)}
	m.AddInstance(testPod("p"), c, "i1", clk.Now().Add(-time.Hour))
	defer m.RemoveInstance("i1")
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, waitLimit, true, func(context.Context) (bool, error) { return clk.HasWaiters(), nil }); err != nil { // the spreading timer
		t.Fatal("no spreading timer")
	}
	noCall(t, f, "live")
	clk.Step(10 * time.Second) // the delay is below one period
	nextCall(t, f, "live")
	m.RemoveInstance("i1")

	// Once podrund is older than a period, adopted instances start at once.
	m.AddInstance(testPod("p"), c, "i2", clk.Now().Add(-time.Hour))
	defer m.RemoveInstance("i2")
	nextCall(t, f, "live")
}

// R41/R99: every failed attempt is reported with Failed set, also below the
// failure threshold and for a readiness probe that never succeeded, so the
// engine records one Unhealthy event per failure; successes are not.
func TestFailureNotices(t *testing.T) {
	res, f, m, clk := scriptedManager()
	res.set("live", 1, 1, 0)
	res.set("ready", 1, 1, 0)
	c := &corev1.Container{Name: "app",
		LivenessProbe:  execProbeSpec("live", 10, 3, 1),
		ReadinessProbe: execProbeSpec("ready", 10, 3, 1)}
	addApp(t, m, clk, c)

	count := map[results.Kind]int{}
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			clk.Step(10 * time.Second)
		}
		callsOf(t, f, "live", "ready")
		deadline := time.After(300 * time.Millisecond)
	drain:
		for {
			select {
			case u := <-m.Updates():
				if !u.Failed {
					if u.Kind == results.Readiness && u.Result == results.Success {
						continue // the third attempt succeeds: a result change
					}
					t.Fatalf("attempt %d: update without Failed: %+v", attempt, u)
				}
				if u.Kind == results.Liveness && u.Result != results.Success {
					t.Fatalf("liveness result changed below the threshold: %+v", u)
				}
				count[u.Kind]++
			case <-deadline:
				break drain
			}
		}
	}
	if count[results.Liveness] != 2 || count[results.Readiness] != 2 {
		t.Fatalf("failure notices = %v, want 2 liveness and 2 readiness", count)
	}
}

// WithObserver sees each update the engine's channel took, as it was sent:
// podrund's probe metrics count them.
func TestObserverSeesEveryUpdate(t *testing.T) {
	res := newExecScript()
	res.set("ready", 0)
	f := newFakeProber(res.exec)
	observed := make(chan results.Update, 4)
	clk := testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := NewManager(f, clk, nil, WithObserver(func(u results.Update) { observed <- u }))
	c := &corev1.Container{Name: "app", ReadinessProbe: execProbeSpec("ready", 10, 3, 1)}
	addApp(t, m, clk, c)

	nextCall(t, f, "ready")
	u := expectUpdate(t, m, results.Readiness, results.Success)
	select {
	case o := <-observed:
		if o != u {
			t.Fatalf("observed %+v, the engine got %+v", o, u)
		}
	case <-time.After(waitLimit):
		t.Fatal("the observer saw no update")
	}
}
