package supervisor

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type statusCase struct {
	name      string
	pod       *corev1.Pod
	instances []Instance
	started   []string
	waiting   map[string]WaitingReason
	init      bool // EngineState.Initialized
	terminal  bool
	phase     corev1.PodPhase
}

func runStatus(c statusCase) corev1.PodStatus {
	st := &EngineState{Instances: c.instances, SandboxAttempt: 1, Initialized: c.init,
		Started: map[string]bool{}, Ready: map[string]bool{}, Waiting: c.waiting}
	for _, id := range c.started {
		st.Started[id] = true
	}
	return computeStatus(&statusInput{Pod: c.pod, State: st, SandboxReady: !c.terminal, Now: t0.Add(time.Minute), Terminal: c.terminal})
}

// TestPhaseTable_R79 checks each row of the R79 table.
func TestPhaseTable_R79(t *testing.T) {
	for _, pol := range []corev1.RestartPolicy{corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure, corev1.RestartPolicyAlways} {
		never, always := pol == corev1.RestartPolicyNever, pol == corev1.RestartPolicyAlways
		pod := testPod(pol, []string{"i:", "s:sidecar"}, "r")
		pod.Spec.InitContainers[0].Name = "i"
		ex := func(name string, code int32) Instance { return inst(pod, name, InstanceExited, code) }
		run := func(name string) Instance { return inst(pod, name, InstanceRunning, 0) }
		crash := map[string]WaitingReason{"r": {Reason: "CrashLoopBackOff", Since: t0.Add(time.Hour)}}
		scCrash := map[string]WaitingReason{"s": {Reason: "CrashLoopBackOff", Since: t0.Add(time.Hour)}}
		cases := []statusCase{
			{name: "I not yet run", phase: corev1.PodPending},
			{name: "I running", instances: []Instance{run("i")}, phase: corev1.PodPending},
			{name: "I failed", instances: []Instance{ex("i", 1)}, phase: ifElse(never, corev1.PodFailed, corev1.PodPending)},
			{name: "I failed, waiting to retry", instances: []Instance{ex("i", 1)},
				waiting: map[string]WaitingReason{"i": {Reason: "CrashLoopBackOff", Since: t0.Add(time.Hour)}},
				phase:   ifElse(never, corev1.PodFailed, corev1.PodPending)},
			{name: "S running not started, before any R", instances: []Instance{ex("i", 0), run("s")}, phase: corev1.PodPending},
			{name: "S crash-looping during init", instances: []Instance{ex("i", 0), ex("s", 1)}, waiting: scCrash, phase: corev1.PodPending},
			{name: "R waiting for first start", instances: []Instance{ex("i", 0), run("s")}, started: []string{"s-id"},
				waiting: map[string]WaitingReason{"r": {Reason: "ImagePullBackOff"}}, phase: corev1.PodPending},
			{name: "R running, S running", instances: []Instance{ex("i", 0), run("s"), run("r")}, started: []string{"s-id", "r-id"},
				init: true, phase: corev1.PodRunning},
			{name: "R running, S crash-looping", instances: []Instance{ex("i", 0), ex("s", 1), run("r")}, waiting: scCrash,
				init: true, phase: corev1.PodRunning},
			{name: "all R exited 0, S still running", instances: []Instance{ex("i", 0), run("s"), ex("r", 0)}, started: []string{"s-id"},
				init: true, phase: corev1.PodRunning},
			{name: "all R exited 0, S stopped", instances: []Instance{ex("i", 0), ex("s", 137), ex("r", 0)},
				init: true, terminal: !always, phase: ifElse(always, corev1.PodRunning, corev1.PodSucceeded)},
			{name: "some R exited 1, S stopped", instances: []Instance{ex("i", 0), ex("s", 0), ex("r", 1)},
				init: true, terminal: never, phase: ifElse(never, corev1.PodFailed, corev1.PodRunning)},
			{name: "R crash-looping, nothing running", instances: []Instance{ex("i", 0), ex("s", 0), ex("r", 1)}, waiting: crash,
				init: true, phase: ifElse(never, corev1.PodFailed, corev1.PodRunning)},
			{name: "deleted, all R exited 0 on TERM", instances: []Instance{ex("i", 0), ex("s", 143), ex("r", 0)},
				init: true, terminal: true, phase: corev1.PodSucceeded},
			{name: "deleted, R 137", instances: []Instance{ex("i", 0), ex("s", 0), ex("r", 137)},
				init: true, terminal: true, phase: corev1.PodFailed},
			{name: "deleted while Pending", instances: []Instance{ex("i", 0), ex("s", 137)}, terminal: true, phase: corev1.PodFailed},
		}
		for _, c := range cases {
			c.pod = pod
			t.Run(string(pol)+"/"+c.name, func(t *testing.T) {
				if got := runStatus(c).Phase; got != c.phase {
					t.Fatalf("phase %s, want %s", got, c.phase)
				}
			})
		}
	}
}

func cond(s corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

// TestConditions_R82 checks Initialized, ContainersReady, Ready and
// PodReadyToStartContainers, and that lastTransitionTime only moves with
// the status (R81).
func TestConditions_R82(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"i", "s:sidecar"}, "r")
	pod.Spec.InitContainers[1].ReadinessProbe = &corev1.Probe{}
	s := runStatus(statusCase{pod: pod, instances: []Instance{inst(pod, "i", InstanceRunning, 0)}})
	if c := cond(s, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotInitialized" ||
		c.Message != "containers with incomplete status: [i s]" {
		t.Fatalf("Initialized %+v", c)
	}
	if c := cond(s, corev1.ContainersReady); c.Message != "containers with unready status: [s r]" {
		t.Fatalf("ContainersReady %+v", c)
	}
	if c := cond(s, corev1.PodReadyToStartContainers); c.Status != corev1.ConditionTrue {
		t.Fatalf("PodReadyToStartContainers %+v", c)
	}
	if c := cond(s, corev1.PodScheduled); c.Status != corev1.ConditionTrue {
		t.Fatalf("PodScheduled %+v", c)
	}
	// Sidecar started and regular running: Initialized; sidecar readiness
	// still gates Ready (R48).
	st := &EngineState{SandboxAttempt: 1, Initialized: true, Instances: []Instance{
		inst(pod, "i", InstanceExited, 0), inst(pod, "s", InstanceRunning, 0), inst(pod, "r", InstanceRunning, 0)},
		Started: map[string]bool{"s-id": true, "r-id": true}, Ready: map[string]bool{}}
	p := pod.DeepCopy()
	p.Status = s
	in := &statusInput{Pod: p, State: st, SandboxReady: true, Now: t0.Add(2 * time.Minute)}
	s2 := computeStatus(in)
	if c := cond(s2, corev1.PodInitialized); c.Status != corev1.ConditionTrue {
		t.Fatalf("Initialized %+v", c)
	}
	if c := cond(s2, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Message != "containers with unready status: [s]" {
		t.Fatalf("Ready must wait for the sidecar's readiness: %+v", c)
	}
	if !cond(s2, corev1.PodReadyToStartContainers).LastTransitionTime.Time.Equal(cond(s, corev1.PodReadyToStartContainers).LastTransitionTime.Time) {
		t.Fatal("R81: lastTransitionTime changed without a status change")
	}
	st.Ready["s-id"] = true
	p.Status = s2
	in.Now = t0.Add(3 * time.Minute)
	s3 := computeStatus(in)
	c := cond(s3, corev1.PodReady)
	if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("Ready %+v", c)
	}
	if cond(s3, corev1.PodInitialized).LastTransitionTime.Time != t0.Add(2*time.Minute) {
		t.Fatal("R81: Initialized transition time should be kept")
	}
	// Succeeded → ContainersReady False/PodCompleted, Initialized PodCompleted.
	st.Instances = []Instance{inst(pod, "i", InstanceExited, 0), inst(pod, "s", InstanceExited, 143), inst(pod, "r", InstanceExited, 0)}
	in.Terminal = true
	s4 := computeStatus(in)
	if s4.Phase != corev1.PodSucceeded || cond(s4, corev1.ContainersReady).Reason != "PodCompleted" ||
		cond(s4, corev1.PodInitialized).Reason != "PodCompleted" || cond(s4, corev1.PodReadyToStartContainers).Status != corev1.ConditionFalse {
		t.Fatalf("final status %+v", s4)
	}
}

// TestStatusDefaults_R84_R85: every container has a status from the first
// one on, init statuses in spec order, default reasons.
func TestStatusDefaults_R84_R85(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"b", "a:sidecar"}, "z", "y")
	s := runStatus(statusCase{pod: pod})
	if len(s.InitContainerStatuses) != 2 || s.InitContainerStatuses[0].Name != "b" || s.InitContainerStatuses[1].Name != "a" {
		t.Fatalf("init statuses %+v", s.InitContainerStatuses)
	}
	for _, cs := range append(s.InitContainerStatuses, s.ContainerStatuses...) {
		if cs.State.Waiting == nil || cs.State.Waiting.Reason != "PodInitializing" || cs.Image != "busybox:1.28" ||
			cs.Started == nil || *cs.Started {
			t.Fatalf("default status %+v", cs)
		}
	}
	if s.StartTime == nil || !s.StartTime.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("startTime %v", s.StartTime)
	}
	noInit := testPod(corev1.RestartPolicyAlways, nil, "r")
	s = runStatus(statusCase{pod: noInit})
	if s.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
		t.Fatalf("no init containers: %+v", s.ContainerStatuses[0].State)
	}
	// R90: startTime is set once.
	p := noInit.DeepCopy()
	old := metav1.NewTime(t0)
	p.Status.StartTime = &old
	s = computeStatus(&statusInput{Pod: p, State: &EngineState{}, Now: t0.Add(time.Hour)})
	if !s.StartTime.Time.Equal(t0) {
		t.Fatal("R90: startTime changed")
	}
}

// TestContainerStatus_R86_R87_R88: state/lastState from the two newest
// instances, restartCount, containerID, and the waiting reason with lastState.
func TestContainerStatus_R86_R87_R88(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	a := inst(pod, "r", InstanceExited, 1)
	a.ID = "a"
	b := inst(pod, "r", InstanceExited, 0)
	b.ID, b.Attempt, b.ImageRef, b.ImageID = "b", 1, "docker.io/library/busybox:1.28", "sha256:x"
	b.FinishedAt = t0.Add(5 * time.Second)
	s := runStatus(statusCase{pod: pod, instances: []Instance{a, b}})
	cs := s.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.ContainerID != "containerd://b" || cs.State.Terminated == nil ||
		cs.State.Terminated.Reason != "Completed" || cs.LastTerminationState.Terminated.Reason != "Error" ||
		cs.Image != "docker.io/library/busybox:1.28" || cs.ImageID != "sha256:x" {
		t.Fatalf("status %+v", cs)
	}
	s = runStatus(statusCase{pod: pod, instances: []Instance{a, b},
		waiting: map[string]WaitingReason{"r": {Reason: "CrashLoopBackOff", Message: "m", Since: b.FinishedAt}}})
	cs = s.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.LastTerminationState.Terminated.ExitCode != 0 ||
		cs.LastTerminationState.Terminated.ContainerID != "containerd://b" {
		t.Fatalf("R87 waiting %+v", cs)
	}
}

// TestFinalCleanup_R83: a deleted pod's non-terminated statuses become
// ContainerStatusUnknown and the phase terminal.
func TestFinalCleanup_R83(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r", "q")
	s := runStatus(statusCase{pod: pod, instances: []Instance{inst(pod, "r", InstanceExited, 0)}, init: true, terminal: true})
	q := s.ContainerStatuses[1]
	if q.State.Terminated == nil || q.State.Terminated.Reason != "ContainerStatusUnknown" || q.State.Terminated.ExitCode != 137 ||
		q.State.Terminated.Message != lostMessage || s.Phase != corev1.PodFailed {
		t.Fatalf("final %+v phase %s", q.State, s.Phase)
	}
}

// TestDeadlineStatus_R70: DeadlineExceeded forces Failed with reason and message.
func TestDeadlineStatus_R70(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "r")
	st := &EngineState{SandboxAttempt: 1, Initialized: true, Instances: []Instance{inst(pod, "r", InstanceRunning, 0)},
		Terminating: &Termination{Reason: TermDeadlineExceeded}}
	s := computeStatus(&statusInput{Pod: pod, State: st, SandboxReady: true, Now: t0})
	if s.Phase != corev1.PodFailed || s.Reason != "DeadlineExceeded" || s.Message != deadlineMessage {
		t.Fatalf("status %s %s %s", s.Phase, s.Reason, s.Message)
	}
}
