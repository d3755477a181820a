package supervisor

import (
	"slices"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ruleOn(op corev1.ContainerRestartRuleOnExitCodesOperator, codes ...int32) corev1.ContainerRestartRule {
	return corev1.ContainerRestartRule{Action: corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: op, Values: codes}}
}

var (
	in42    = ruleOn(corev1.ContainerRestartRuleOnExitCodesOpIn, 42)
	notIn01 = ruleOn(corev1.ContainerRestartRuleOnExitCodesOpNotIn, 0, 1)
)

// ownPolicy gives container name its own restartPolicy and rules.
func ownPolicy(name string, pol corev1.ContainerRestartPolicy, rules ...corev1.ContainerRestartRule) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c, _ := findContainer(p, name)
		c.RestartPolicy = &pol
		c.RestartPolicyRules = rules
	}
}

// TestContainerShouldRestart_R101 is the decision table of R101.
func TestContainerShouldRestart_R101(t *testing.T) {
	const (
		always    = corev1.ContainerRestartPolicyAlways
		onFailure = corev1.ContainerRestartPolicyOnFailure
		never     = corev1.ContainerRestartPolicyNever
	)
	allContainers := corev1.ContainerRestartRule{Action: corev1.ContainerRestartRuleActionRestartAllContainers,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{7}}}
	noCodes := corev1.ContainerRestartRule{Action: corev1.ContainerRestartRuleActionRestart}
	for _, tc := range []struct {
		name  string
		pod   corev1.RestartPolicy
		own   *corev1.ContainerRestartPolicy
		rules []corev1.ContainerRestartRule
		exit  int32
		want  bool
	}{
		{"no own policy: pod Always", corev1.RestartPolicyAlways, nil, nil, 0, true},
		{"no own policy: pod OnFailure exit 0", corev1.RestartPolicyOnFailure, nil, nil, 0, false},
		{"no own policy: pod OnFailure exit 2", corev1.RestartPolicyOnFailure, nil, nil, 2, true},
		{"no own policy: pod Never", corev1.RestartPolicyNever, nil, nil, 2, false},
		{"no own policy: rules are ignored", corev1.RestartPolicyNever, nil, []corev1.ContainerRestartRule{in42}, 42, false},
		{"own Always under pod Never", corev1.RestartPolicyNever, ptrTo(always), nil, 0, true},
		{"own OnFailure under pod Never, exit 1", corev1.RestartPolicyNever, ptrTo(onFailure), nil, 1, true},
		{"own OnFailure under pod Always, exit 0", corev1.RestartPolicyAlways, ptrTo(onFailure), nil, 0, false},
		{"own Never under pod Always", corev1.RestartPolicyAlways, ptrTo(never), nil, 1, false},
		{"In 42 matches 42", corev1.RestartPolicyNever, ptrTo(never), []corev1.ContainerRestartRule{in42}, 42, true},
		{"In 42 does not match 1: own Never", corev1.RestartPolicyNever, ptrTo(never), []corev1.ContainerRestartRule{in42}, 1, false},
		{"In 42 does not match 0: own OnFailure", corev1.RestartPolicyAlways, ptrTo(onFailure), []corev1.ContainerRestartRule{in42}, 0, false},
		{"NotIn [0 1] matches 3", corev1.RestartPolicyNever, ptrTo(never), []corev1.ContainerRestartRule{notIn01}, 3, true},
		{"NotIn [0 1] does not match 1", corev1.RestartPolicyNever, ptrTo(never), []corev1.ContainerRestartRule{notIn01}, 1, false},
		{"rule without exitCodes never matches", corev1.RestartPolicyNever, ptrTo(never), []corev1.ContainerRestartRule{noCodes}, 1, false},
		{"RestartAllContainers (gate off) falls back to own policy", corev1.RestartPolicyAlways, ptrTo(never),
			[]corev1.ContainerRestartRule{allContainers, in42}, 7, false},
		{"first matching rule wins", corev1.RestartPolicyNever, ptrTo(never),
			[]corev1.ContainerRestartRule{allContainers, ruleOn(corev1.ContainerRestartRuleOnExitCodesOpIn, 7)}, 7, false},
		{"later rule matches when earlier do not", corev1.RestartPolicyNever, ptrTo(never),
			[]corev1.ContainerRestartRule{in42, ruleOn(corev1.ContainerRestartRuleOnExitCodesOpIn, 7)}, 7, true},
		{"negative exit code", corev1.RestartPolicyNever, ptrTo(never),
			[]corev1.ContainerRestartRule{ruleOn(corev1.ContainerRestartRuleOnExitCodesOpIn, -1)}, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod(tc.pod, nil, "r")
			c := &pod.Spec.Containers[0]
			c.RestartPolicy, c.RestartPolicyRules = tc.own, tc.rules
			if got := containerShouldRestart(pod, c, tc.exit); got != tc.want {
				t.Fatalf("containerShouldRestart = %v, want %v", got, tc.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestRestartRulesPlan covers the planner with containers' own policies:
// regular containers (R101, R105), plain init containers (R102), probe
// kills (R103), sidecars untouched, deletion.
func TestRestartRulesPlan(t *testing.T) {
	never := testPod(corev1.RestartPolicyNever, nil, "r")
	always := testPod(corev1.RestartPolicyAlways, nil, "r")
	two := testPod(corev1.RestartPolicyNever, nil, "r", "q")
	initNever := testPod(corev1.RestartPolicyNever, []string{"i1", "i2"}, "r")
	initAlways := testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "r")
	withSc := testPod(corev1.RestartPolicyNever, []string{"s:sidecar"}, "r")
	ex := func(p *corev1.Pod, n string, code int32) Instance { return inst(p, n, InstanceExited, code) }
	run := func(p *corev1.Pod, n string) Instance { return inst(p, n, InstanceRunning, 0) }
	oomInit := ex(initNever, "i1", 0)
	oomInit.Reason = "OOMKilled"
	oomReg := ex(always, "r", 0)
	oomReg.Reason = "OOMKilled"
	cases := []planCase{
		// R101: regular containers.
		{name: "pod Never, own Always, exit 0: restarted", pod: never, mutate: ownPolicy("r", corev1.ContainerRestartPolicyAlways),
			instances: []Instance{ex(never, "r", 0)}, startRegular: []int{0}},
		{name: "pod Never, own OnFailure, exit 1: restarted", pod: never, mutate: ownPolicy("r", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{ex(never, "r", 1)}, startRegular: []int{0}},
		{name: "pod Never, own OnFailure, exit 0: completed", pod: never, mutate: ownPolicy("r", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{ex(never, "r", 0)}, terminate: TermCompleted},
		{name: "pod Never, rule In 42, exit 42: restarted", pod: never, mutate: ownPolicy("r", corev1.ContainerRestartPolicyNever, in42),
			instances: []Instance{ex(never, "r", 42)}, startRegular: []int{0}},
		{name: "pod Never, rule In 42, exit 1: completed", pod: never, mutate: ownPolicy("r", corev1.ContainerRestartPolicyNever, in42),
			instances: []Instance{ex(never, "r", 1)}, terminate: TermCompleted},
		{name: "pod Always, own Never, exit 0: completed (R105)", pod: always, mutate: ownPolicy("r", corev1.ContainerRestartPolicyNever),
			instances: []Instance{ex(always, "r", 0)}, terminate: TermCompleted},
		{name: "pod Always, own OnFailure, OOMKilled exit 0: exit code only", pod: always, mutate: ownPolicy("r", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{oomReg}, terminate: TermCompleted},
		{name: "pod Always, own Never, NotIn [0 1], exit 3: restarted", pod: always, mutate: ownPolicy("r", corev1.ContainerRestartPolicyNever, notIn01),
			instances: []Instance{ex(always, "r", 3)}, startRegular: []int{0}},
		{name: "a container restarting by its rule keeps the pod alive (R105)", pod: two, mutate: ownPolicy("q", corev1.ContainerRestartPolicyNever, in42),
			instances: []Instance{ex(two, "r", 1), ex(two, "q", 42)}, startRegular: []int{1}},
		{name: "deleted pod: a rule restarts nothing", pod: never, mutate: func(p *corev1.Pod) {
			ownPolicy("r", corev1.ContainerRestartPolicyAlways, in42)(p)
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		}, instances: []Instance{ex(never, "r", 42)}, terminate: TermCompleted},
		// R103: probe kills use the container's policy, not its rules.
		{name: "pod Never, own Always: liveness kill restarts", pod: never, mutate: func(p *corev1.Pod) {
			ownPolicy("r", corev1.ContainerRestartPolicyAlways)(p)
			withProbe(results.Liveness, "r")(p)
		}, instances: []Instance{run(never, "r")}, probes: map[string]probeState{"r-id": {Liveness: results.Failure}},
			kill: []string{"r:true"}},
		{name: "pod Always, own Never with a rule: liveness kill is final", pod: always, mutate: func(p *corev1.Pod) {
			ownPolicy("r", corev1.ContainerRestartPolicyNever, notIn01)(p)
			withProbe(results.Startup, "r")(p)
		}, instances: []Instance{run(always, "r")}, probes: map[string]probeState{"r-id": {Startup: results.Failure}},
			kill: []string{"r:false"}, terminate: TermCompleted},
		// R102: plain init containers.
		{name: "pod Never, init OnFailure exits 1: restarted", pod: initNever, mutate: ownPolicy("i1", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{ex(initNever, "i1", 1)}, startInit: []int{0}},
		{name: "pod Never, init OnFailure exits 0: next init", pod: initNever, mutate: ownPolicy("i1", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{ex(initNever, "i1", 0)}, startInit: []int{1}},
		{name: "pod Never, init OnFailure OOMKilled exit 0: failed, not restarted", pod: initNever, mutate: ownPolicy("i1", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{oomInit}, terminate: TermInitFailed},
		{name: "pod Always, init Never exits 1: pod fails", pod: initAlways, mutate: ownPolicy("i2", corev1.ContainerRestartPolicyNever),
			instances: []Instance{ex(initAlways, "i1", 0), ex(initAlways, "i2", 1)}, terminate: TermInitFailed},
		{name: "pod Never, init Never rule In 42 exits 42: restarted", pod: initNever, mutate: ownPolicy("i2", corev1.ContainerRestartPolicyNever, in42),
			instances: []Instance{ex(initNever, "i1", 0), ex(initNever, "i2", 42)}, startInit: []int{1}},
		{name: "pod Never, init Never rule In 42 exits 1: pod fails", pod: initNever, mutate: ownPolicy("i2", corev1.ContainerRestartPolicyNever, in42),
			instances: []Instance{ex(initNever, "i1", 0), ex(initNever, "i2", 1)}, terminate: TermInitFailed},
		{name: "pod Never, init OnFailure in unknown state: kill + restart", pod: initNever, mutate: ownPolicy("i1", corev1.ContainerRestartPolicyOnFailure),
			instances: []Instance{inst(initNever, "i1", InstanceUnknown, 0)}, kill: []string{"i1:true"}, startInit: []int{0}},
		{name: "pod Always, init Never with rule in unknown state: pod fails (no exit code for rules)", pod: initAlways,
			mutate:    ownPolicy("i1", corev1.ContainerRestartPolicyNever, notIn01),
			instances: []Instance{inst(initAlways, "i1", InstanceUnknown, 0)}, kill: []string{"i1:true"}, terminate: TermInitFailed},
		// Sidecars keep R1 whatever the pod and the regular containers say.
		{name: "sidecar still restarts under pod Never", pod: withSc, mutate: ownPolicy("r", corev1.ContainerRestartPolicyNever),
			instances: []Instance{ex(withSc, "s", 1), run(withSc, "r")}, startInit: []int{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkPlan(t, c, runPlan(c)) })
	}
}

// TestRestartRulesBackoff_R107: a restart decided by a rule waits for the
// crash-loop back-off like any other.
func TestRestartRulesBackoff_R107(t *testing.T) {
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	ownPolicy("r", corev1.ContainerRestartPolicyNever, in42)(pod)
	in := inst(pod, "r", InstanceExited, 42)
	st := &EngineState{SandboxAttempt: 1, Instances: []Instance{in},
		Backoff: map[string]BackoffEntry{backoffKey(&pod.Spec.Containers[0]): {Backoff: 20 * time.Second, LastUpdate: in.FinishedAt}}}
	p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: in.FinishedAt.Add(time.Second)})
	if len(p.StartRegular) != 0 || p.Waiting["r"].Reason != "CrashLoopBackOff" || p.Terminate != "" {
		t.Fatalf("in back-off: %+v", p)
	}
	if !p.WakeAt.Equal(in.FinishedAt.Add(20 * time.Second)) {
		t.Fatalf("wake %v, want exit + 20 s", p.WakeAt)
	}
	p = computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: in.FinishedAt.Add(20 * time.Second)})
	if len(p.StartRegular) != 1 {
		t.Fatalf("after back-off: %+v", p)
	}
}

// TestRestartRulesSandboxLoss_R106: after the sandbox died, a container
// "runs once" by its own OnFailure policy; the pod-level Never check stays
// pod-level, as in the kubelet.
func TestRestartRulesSandboxLoss_R106(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pod       corev1.RestartPolicy
		own       corev1.ContainerRestartPolicy
		exits     [2]int32
		create    bool
		start     []int
		terminate string
	}{
		{"pod Always, own OnFailure exited 0: not re-created", corev1.RestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure,
			[2]int32{0, 137}, true, []int{1}, ""},
		{"pod Always, own OnFailure exited 0, the other exited 0: only the other", corev1.RestartPolicyAlways, corev1.ContainerRestartPolicyOnFailure,
			[2]int32{0, 0}, true, []int{1}, ""},
		{"pod OnFailure, own OnFailure, all exited 0: lost", corev1.RestartPolicyOnFailure, corev1.ContainerRestartPolicyOnFailure,
			[2]int32{0, 0}, false, nil, TermSandboxLost},
		{"pod OnFailure, own Never exited 0: re-created", corev1.RestartPolicyOnFailure, corev1.ContainerRestartPolicyNever,
			[2]int32{0, 0}, true, []int{0}, ""},
		{"pod Never, own Always: not re-created", corev1.RestartPolicyNever, corev1.ContainerRestartPolicyAlways,
			[2]int32{137, 137}, false, nil, TermSandboxLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod(tc.pod, nil, "r", "q")
			ownPolicy("r", tc.own)(pod)
			st := &EngineState{SandboxAttempt: 1, Instances: []Instance{
				inst(pod, "r", InstanceExited, tc.exits[0]), inst(pod, "q", InstanceExited, tc.exits[1])}}
			p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: false, Now: t0})
			if p.CreateSandbox != tc.create || p.Terminate != tc.terminate || !slices.Equal(p.StartRegular, tc.start) {
				t.Fatalf("plan %+v", p)
			}
		})
	}
}

// TestRestartRulesPhase_R104: the phase counts a failed init container or
// stopped regular containers as restarting by the containers' own rules.
func TestRestartRulesPhase_R104(t *testing.T) {
	initPod := testPod(corev1.RestartPolicyNever, []string{"i"}, "r")
	regPod := testPod(corev1.RestartPolicyNever, nil, "r")
	alwaysPod := testPod(corev1.RestartPolicyAlways, []string{"i"}, "r")
	with := func(p *corev1.Pod, f func(*corev1.Pod)) *corev1.Pod {
		p = p.DeepCopy()
		f(p)
		return p
	}
	crash := func(n string) map[string]WaitingReason {
		return map[string]WaitingReason{n: {Reason: "CrashLoopBackOff", Since: t0.Add(time.Hour)}}
	}
	initOnFailure := with(initPod, ownPolicy("i", corev1.ContainerRestartPolicyOnFailure))
	initNeverPodAlways := with(alwaysPod, ownPolicy("i", corev1.ContainerRestartPolicyNever))
	rule42 := with(regPod, ownPolicy("r", corev1.ContainerRestartPolicyNever, in42))
	ownNeverPodAlways := with(testPod(corev1.RestartPolicyAlways, nil, "r"), ownPolicy("r", corev1.ContainerRestartPolicyNever))
	cases := []statusCase{
		{name: "pod Never, init OnFailure failed: Pending, not Failed", pod: initOnFailure,
			instances: []Instance{inst(initOnFailure, "i", InstanceExited, 1)}, phase: corev1.PodPending},
		{name: "pod Never, init OnFailure crash-looping: Pending", pod: initOnFailure, waiting: crash("i"),
			instances: []Instance{inst(initOnFailure, "i", InstanceExited, 1)}, phase: corev1.PodPending},
		{name: "pod Always, init Never failed: Failed", pod: initNeverPodAlways,
			instances: []Instance{inst(initNeverPodAlways, "i", InstanceExited, 1)}, phase: corev1.PodFailed},
		{name: "pod Never, rule 42, exited 42: Running", pod: rule42, init: true,
			instances: []Instance{inst(rule42, "r", InstanceExited, 42)}, phase: corev1.PodRunning},
		{name: "pod Never, rule 42, crash-looping after 42: Running", pod: rule42, init: true, waiting: crash("r"),
			instances: []Instance{inst(rule42, "r", InstanceExited, 42)}, phase: corev1.PodRunning},
		{name: "pod Never, rule 42, exited 1: Failed", pod: rule42, init: true,
			instances: []Instance{inst(rule42, "r", InstanceExited, 1)}, phase: corev1.PodFailed},
		{name: "pod Always, own Never, exited 0: Succeeded", pod: ownNeverPodAlways, init: true,
			instances: []Instance{inst(ownNeverPodAlways, "r", InstanceExited, 0)}, phase: corev1.PodSucceeded},
		{name: "pod Always, own Never, exited 3: Failed", pod: ownNeverPodAlways, init: true,
			instances: []Instance{inst(ownNeverPodAlways, "r", InstanceExited, 3)}, phase: corev1.PodFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := runStatus(c).Phase; got != c.phase {
				t.Fatalf("phase %s, want %s", got, c.phase)
			}
		})
	}
}

// TestRestartRulesEngine drives the whole engine (fake runtime, fake
// clock): pod Never, container Never with a rule restarting exit code 42.
// Exit 42 restarts it at once, a second 42 waits in CrashLoopBackOff with
// the pod Running (R104, R107), exit 1 ends the pod Failed (R105).
func TestRestartRulesEngine(t *testing.T) {
	h := newHarness(t, Options{})
	pod := testPod(corev1.RestartPolicyNever, nil, "r")
	ownPolicy("r", corev1.ContainerRestartPolicyNever, in42)(pod)
	h.start(pod)
	h.rt.exit(h.waitRunning("r"), 42)
	h.waitFor("immediate first restart", func() bool { return h.count("start r") == 2 })
	h.rt.exit(h.waitRunning("r"), 42)
	h.waitFor("CrashLoopBackOff", func() bool {
		st := regularStatus(h.status(pod.UID), "r")
		return st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff"
	})
	if ph := h.status(pod.UID).Phase; ph != corev1.PodRunning {
		t.Fatalf("phase %s in back-off, want Running", ph)
	}
	h.stepUntil("retry after 10 s", time.Second, func() bool { return h.count("start r") == 3 })
	h.rt.exit(h.waitRunning("r"), 1)
	h.waitPhase(pod.UID, corev1.PodFailed)
	h.settle()
	if h.count("start r") != 3 {
		t.Fatalf("r started %d times, want 3: %v", h.count("start r"), h.rt.callLog())
	}
}
