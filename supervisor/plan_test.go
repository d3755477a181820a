package supervisor

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// inst builds an instance of the pod's container name in sandbox 1.
func inst(pod *corev1.Pod, name string, state InstanceState, exit int32) Instance {
	c, _ := findContainer(pod, name)
	in := Instance{ID: name + "-id", Container: name, SandboxAttempt: 1, State: state, ExitCode: exit,
		Image: c.Image, SpecHash: specHash(c), StartedAt: t0, Attempt: 0}
	if state == InstanceExited {
		in.FinishedAt = t0.Add(time.Second)
		in.Reason = "Completed"
		if exit != 0 {
			in.Reason = "Error"
		}
	}
	return in
}

type planCase struct {
	name      string
	pod       *corev1.Pod
	instances []Instance
	probes    map[string]probeState
	started   []string // instance IDs that are started (R17)
	mutate    func(p *corev1.Pod)
	// expectations
	startInit    []int
	startRegular []int
	kill         []string // "container:restart"
	terminate    string
	initialized  bool
}

func runPlan(c planCase) Plan {
	pod := c.pod.DeepCopy()
	if c.mutate != nil {
		c.mutate(pod)
	}
	st := &EngineState{Instances: c.instances, SandboxAttempt: 1, Started: map[string]bool{}}
	for _, id := range c.started {
		st.Started[id] = true
	}
	return computeActions(&planInput{Pod: pod, State: st, Probes: c.probes, SandboxReady: true, Now: t0.Add(time.Minute)})
}

func checkPlan(t *testing.T, c planCase, p Plan) {
	t.Helper()
	var kills []string
	for _, k := range p.Kill {
		kills = append(kills, fmt.Sprintf("%s:%v", k.Container, k.Restart))
	}
	if !slices.Equal(p.StartInit, c.startInit) || !slices.Equal(p.StartRegular, c.startRegular) ||
		!slices.Equal(kills, c.kill) || p.Terminate != c.terminate {
		t.Errorf("plan: init %v regular %v kill %v terminate %q; want init %v regular %v kill %v terminate %q",
			p.StartInit, p.StartRegular, kills, p.Terminate, c.startInit, c.startRegular, c.kill, c.terminate)
	}
}

func setImage(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c, _ := findContainer(p, name)
		c.Image = "busybox:1.36"
	}
}

func withProbe(kind results.Kind, name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c, _ := findContainer(p, name)
		pr := &corev1.Probe{}
		switch kind {
		case results.Liveness:
			c.LivenessProbe = pr
		case results.Startup:
			c.StartupProbe = pr
		}
	}
}

// TestRestartMatrix_R31 covers every row of the R31 table for all three
// container classes under Always, OnFailure and Never.
func TestRestartMatrix_R31(t *testing.T) {
	for _, pol := range []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever} {
		never := pol == corev1.RestartPolicyNever
		initPod := testPod(pol, []string{"i1", "i2"}, "r")
		scPod := testPod(pol, []string{"s:sidecar", "i2"}, "r")
		runPod := testPod(pol, []string{"i1", "s:sidecar"}, "r")
		oom := inst(initPod, "i1", InstanceExited, 0)
		oom.Reason = "OOMKilled"
		cases := []planCase{
			{name: "plain init exits 0: next init starts", pod: initPod,
				instances: []Instance{inst(initPod, "i1", InstanceExited, 0)}, startInit: []int{1}},
			{name: "plain init exits 1", pod: initPod,
				instances: []Instance{inst(initPod, "i1", InstanceExited, 1)},
				startInit: ifElse(never, nil, []int{0}), terminate: ifElse(never, TermInitFailed, "")},
			{name: "plain init OOMKilled with exit 0 counts as failed", pod: initPod, instances: []Instance{oom},
				startInit: ifElse(never, nil, []int{0}), terminate: ifElse(never, TermInitFailed, "")},
			{name: "sidecar exits 0 during init: restarted", pod: scPod,
				instances: []Instance{inst(scPod, "s", InstanceExited, 0)}, startInit: []int{0}},
			{name: "sidecar exits 1 after init: restarted", pod: runPod,
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceExited, 1), inst(runPod, "r", InstanceRunning, 0)},
				startInit: []int{1}, initialized: true},
			{name: "sidecar liveness failure: kill + restart", pod: runPod, mutate: withProbe(results.Liveness, "s"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				probes:    map[string]probeState{"s-id": {Liveness: results.Failure}}, started: []string{"s-id"},
				kill: []string{"s:true"}},
			{name: "sidecar startup failure: kill + restart", pod: scPod, mutate: withProbe(results.Startup, "s"),
				instances: []Instance{inst(scPod, "s", InstanceRunning, 0)},
				probes:    map[string]probeState{"s-id": {Startup: results.Failure}},
				kill:      []string{"s:true"}},
			{name: "regular exits 0", pod: runPod,
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceExited, 0)},
				started:   []string{"s-id"}, startRegular: ifElse(pol == corev1.RestartPolicyAlways, []int{0}, nil),
				terminate: ifElse(pol == corev1.RestartPolicyAlways, "", TermCompleted)},
			{name: "regular exits 1", pod: runPod,
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceExited, 1)},
				started:   []string{"s-id"}, startRegular: ifElse(never, nil, []int{0}), terminate: ifElse(never, TermCompleted, "")},
			{name: "regular liveness failure", pod: runPod, mutate: withProbe(results.Liveness, "r"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				probes:    map[string]probeState{"r-id": {Liveness: results.Failure}}, started: []string{"s-id"},
				kill: []string{fmt.Sprintf("r:%v", !never)}, terminate: ifElse(never, TermCompleted, "")},
			{name: "regular startup failure", pod: runPod, mutate: withProbe(results.Startup, "r"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				probes:    map[string]probeState{"r-id": {Startup: results.Failure}}, started: []string{"s-id"},
				kill: []string{fmt.Sprintf("r:%v", !never)}, terminate: ifElse(never, TermCompleted, "")},
			{name: "image change, running regular: kill + restart", pod: runPod, mutate: setImage("r"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				started:   []string{"s-id"}, kill: []string{"r:true"}},
			{name: "image change, running sidecar: kill + restart", pod: runPod, mutate: setImage("s"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				started:   []string{"s-id"}, kill: []string{"s:true"}},
			{name: "image change, sidecar during init: kill + restart, plain init keeps running", pod: scPod, mutate: setImage("s"),
				instances: []Instance{inst(scPod, "s", InstanceRunning, 0), inst(scPod, "i2", InstanceRunning, 0)},
				started:   []string{"s-id"}, kill: []string{"s:true"}},
			{name: "image change, completed plain init: ignored", pod: runPod, mutate: setImage("i1"),
				instances: []Instance{inst(runPod, "i1", InstanceExited, 0), inst(runPod, "s", InstanceRunning, 0), inst(runPod, "r", InstanceRunning, 0)},
				started:   []string{"s-id"}},
			{name: "image change, running plain init: ignored", pod: initPod, mutate: setImage("i1"),
				instances: []Instance{inst(initPod, "i1", InstanceRunning, 0)}},
		}
		for _, c := range cases {
			t.Run(string(pol)+"/"+c.name, func(t *testing.T) {
				checkPlan(t, c, runPlan(c))
			})
		}
		t.Run(string(pol)+"/terminating: nothing starts (R67)", func(t *testing.T) {
			st := &EngineState{SandboxAttempt: 1, Terminating: &Termination{Reason: TermDeleted}}
			p := computeActions(&planInput{Pod: runPod, State: st, SandboxReady: true, Now: t0})
			if len(p.StartInit)+len(p.StartRegular)+len(p.Kill) != 0 || p.Terminate != "" {
				t.Fatalf("plan during termination: %+v", p)
			}
		})
	}
}

func ifElse[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// TestInitGate_R17_R19: the next init container starts only once the sidecar
// is started (running, startup probe passed, postStart returned); liveness
// and readiness do not gate it.
func TestInitGate_R17_R19(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"s:sidecar", "i2"}, "r")
	cases := []planCase{
		{name: "nothing ran: init[0] starts", pod: pod, startInit: []int{0}},
		{name: "sidecar running, postStart not returned: wait", pod: pod,
			instances: []Instance{inst(pod, "s", InstanceRunning, 0)}},
		{name: "sidecar started: i2 starts", pod: pod, started: []string{"s-id"},
			instances: []Instance{inst(pod, "s", InstanceRunning, 0)}, startInit: []int{1}},
		{name: "startup probe pending: wait", pod: pod, mutate: withProbe(results.Startup, "s"), started: []string{"s-id"},
			instances: []Instance{inst(pod, "s", InstanceRunning, 0)}, probes: map[string]probeState{"s-id": {Startup: results.Unknown}}},
		{name: "startup probe passed: i2 starts", pod: pod, mutate: withProbe(results.Startup, "s"), started: []string{"s-id"},
			instances: []Instance{inst(pod, "s", InstanceRunning, 0)}, probes: map[string]probeState{"s-id": {Startup: results.Success}},
			startInit: []int{1}},
		{name: "liveness failing does not gate (only restarts)", pod: pod, mutate: withProbe(results.Liveness, "s"), started: []string{"s-id"},
			instances: []Instance{inst(pod, "s", InstanceRunning, 0)}, probes: map[string]probeState{"s-id": {Liveness: results.Failure}},
			startInit: []int{1}, kill: []string{"s:true"}},
		{name: "i2 done: regular starts", pod: pod, started: []string{"s-id"},
			instances:    []Instance{inst(pod, "s", InstanceRunning, 0), inst(pod, "i2", InstanceExited, 0)},
			startRegular: []int{0}},
		{name: "R20: crashing sidecar restarts while i2 runs", pod: pod,
			instances: []Instance{inst(pod, "s", InstanceExited, 1), inst(pod, "i2", InstanceRunning, 0)},
			startInit: []int{0}},
		{name: "R25: plain init gone but regular running: never re-run", pod: pod, started: []string{"s-id"},
			instances: []Instance{inst(pod, "s", InstanceRunning, 0), inst(pod, "r", InstanceRunning, 0)}},
		{name: "R25: sidecar gone but regular running: started again", pod: pod,
			instances: []Instance{inst(pod, "r", InstanceRunning, 0)}, startInit: []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkPlan(t, c, runPlan(c)) })
	}
}

// TestBackoffSequence_R35: delays between exit and restart are 0, 10, 20,
// 40, 80, 160, 300, 300 s, and reset after ~10 min of running.
func TestBackoffSequence_R35(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	st := &EngineState{SandboxAttempt: 1}
	now := t0
	run := func(runFor time.Duration) time.Duration {
		now = now.Add(runFor)
		in := inst(pod, "r", InstanceExited, 1)
		in.FinishedAt = now
		st.Instances = []Instance{in}
		p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: now})
		finished := now
		if len(p.StartRegular) == 0 {
			if p.Waiting["r"].Reason != "CrashLoopBackOff" || p.WakeAt.IsZero() {
				t.Fatalf("held back without CrashLoopBackOff / wake: %+v", p)
			}
			now = p.WakeAt
			p = computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: now})
			if len(p.StartRegular) != 1 {
				t.Fatalf("not started at back-off expiry: %+v", p)
			}
		}
		st.Backoff = nextBackoff(st.Backoff, backoffKey(&pod.Spec.Containers[0]), finished, now)
		return now.Sub(finished)
	}
	var got []time.Duration
	for range 8 {
		got = append(got, run(time.Second))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if d := run(11 * time.Minute); d != 0 {
		t.Fatalf("after 11 min of running the back-off should reset (0 s), got %v", d)
	}
	if d := run(time.Second); d != 10*time.Second {
		t.Fatalf("after reset the next delay is 10 s, got %v", d)
	}
}

// TestBackoffMessage_R35: the CrashLoopBackOff message names container and pod.
func TestBackoffMessage_R35(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	in := inst(pod, "r", InstanceExited, 1)
	st := &EngineState{SandboxAttempt: 1, Instances: []Instance{in},
		Backoff: map[string]BackoffEntry{backoffKey(&pod.Spec.Containers[0]): {Backoff: 20 * time.Second, LastUpdate: in.FinishedAt}}}
	p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: in.FinishedAt.Add(time.Second)})
	want := "back-off 20s restarting failed container=r pod=p_default(" + string(pod.UID) + ")"
	if p.Waiting["r"].Message != want {
		t.Fatalf("message %q, want %q", p.Waiting["r"].Message, want)
	}
	if !p.WakeAt.Equal(in.FinishedAt.Add(20 * time.Second)) {
		t.Fatalf("wake %v, want exit + 20 s (R37)", p.WakeAt)
	}
	// R93: a changed image has a new key, so it starts with a fresh back-off.
	pod2 := pod.DeepCopy()
	pod2.Spec.Containers[0].Image = "busybox:1.36"
	p = computeActions(&planInput{Pod: pod2, State: st, SandboxReady: true, Now: in.FinishedAt.Add(time.Second)})
	if len(p.StartRegular) != 1 {
		t.Fatalf("R93: changed image should restart at once: %+v", p)
	}
}

// TestActiveDeadline_R70: the deadline is measured from startTime and the
// plan wakes exactly at it.
func TestActiveDeadline_R70(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	ads := int64(60)
	pod.Spec.ActiveDeadlineSeconds = &ads
	start := metav1.NewTime(t0)
	pod.Status.StartTime = &start
	st := &EngineState{SandboxAttempt: 1, Instances: []Instance{inst(pod, "r", InstanceRunning, 0)}}
	p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(30 * time.Second)})
	if p.Terminate != "" || !p.WakeAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("before deadline: %+v", p)
	}
	p = computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(time.Minute)})
	if p.Terminate != TermDeadlineExceeded {
		t.Fatalf("at deadline: %+v", p)
	}
}

// TestActiveDeadlineClockJumps_R70: counted from the engine's anchor, the
// deadline keeps its length when the wall clock was off. A pod that
// started while the clock was three years ahead (a device booted with a
// wrong clock, corrected by NTP before podrund restarted) is not left to
// run for three more years, and an anchor taken late counts the time the
// pod had already run.
func TestActiveDeadlineClockJumps_R70(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	ads := int64(60)
	pod.Spec.ActiveDeadlineSeconds = &ads
	ahead := metav1.NewTime(t0.Add(3 * 365 * 24 * time.Hour))
	pod.Status.StartTime = &ahead
	st := &EngineState{SandboxAttempt: 1, Instances: []Instance{inst(pod, "r", InstanceRunning, 0)}}
	in := &planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(30 * time.Second), StartAnchor: t0}
	if p := computeActions(in); p.Terminate != "" || !p.WakeAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("clock behind startTime: wake %v terminate %q, want wake at anchor+60s", p.WakeAt, p.Terminate)
	}
	in.Now = t0.Add(time.Minute)
	if p := computeActions(in); p.Terminate != TermDeadlineExceeded {
		t.Fatalf("clock behind startTime, 60 s after the anchor: %+v", p)
	}

	start := metav1.NewTime(t0)
	pod.Status.StartTime = &start
	in = &planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(50 * time.Second), StartAnchor: t0.Add(40 * time.Second)}
	if p := computeActions(in); p.Terminate != "" || !p.WakeAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("anchored 40 s after start: wake %v, want start+60s", p.WakeAt)
	}
}

// TestSandboxPlan_R14: first sandbox, re-initialization after loss, and
// Never pods that are not re-created.
func TestSandboxPlan_R14(t *testing.T) {
	for _, tc := range []struct {
		policy    corev1.RestartPolicy
		exit      int32
		create    bool
		terminate string
	}{
		{corev1.RestartPolicyAlways, 137, true, ""},
		{corev1.RestartPolicyOnFailure, 137, true, ""},
		{corev1.RestartPolicyOnFailure, 0, false, TermSandboxLost},
		{corev1.RestartPolicyNever, 137, false, TermSandboxLost},
	} {
		pod := testPod(tc.policy, []string{"i1", "s:sidecar"}, "r")
		st := &EngineState{SandboxAttempt: 1, Instances: []Instance{
			inst(pod, "i1", InstanceExited, 0), inst(pod, "s", InstanceExited, 137), inst(pod, "r", InstanceExited, tc.exit)}}
		p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: false, Now: t0})
		if p.CreateSandbox != tc.create || p.Terminate != tc.terminate {
			t.Errorf("%s exit %d: %+v", tc.policy, tc.exit, p)
		}
		if tc.create && (!p.SandboxChanged || !slices.Equal(p.StartInit, []int{0})) {
			t.Errorf("%s: re-initialization must start from init[0]: %+v", tc.policy, p)
		}
	}
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	p := computeActions(&planInput{Pod: pod, State: &EngineState{}, Now: t0})
	if !p.CreateSandbox || p.SandboxChanged || !slices.Equal(p.StartRegular, []int{0}) {
		t.Fatalf("first sandbox: %+v", p)
	}
}
