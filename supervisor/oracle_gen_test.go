package supervisor

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The generators below feed the oracle tests of planInit and podPhase:
// random pods and states that reach every branch of both (each oracle test
// checks that every outcome it counts was seen), from a fixed seed.

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// randomContainer is an init (or regular) container with a random restart
// policy of its own, restart rule, startup and liveness probes.
func randomContainer(r *rand.Rand, name string, init bool) corev1.Container {
	c := corev1.Container{Name: name, Image: "busybox:1.28"}
	policies := []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyOnFailure, corev1.ContainerRestartPolicyNever}
	if init {
		policies = append(policies, corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyAlways)
	}
	if r.IntN(3) > 0 {
		p := pick(r, policies...)
		c.RestartPolicy = &p
		if r.IntN(4) == 0 {
			c.RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{
					Operator: pick(r, corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn),
					Values:   []int32{pick(r, int32(1), 137)}}}}
		}
	}
	grace := int64(3)
	if r.IntN(3) == 0 {
		c.StartupProbe = &corev1.Probe{}
		if r.IntN(2) == 0 {
			c.StartupProbe.TerminationGracePeriodSeconds = &grace
		}
	}
	if r.IntN(3) == 0 {
		c.LivenessProbe = &corev1.Probe{TerminationGracePeriodSeconds: &grace}
	}
	return c
}

// randomPod has 0..3 init containers and 1..2 regular ones.
func randomPod(r *rand.Rand) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid"}}
	pod.Spec.RestartPolicy = pick(r, corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)
	for i := range r.IntN(4) {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, randomContainer(r, fmt.Sprintf("i%d", i), true))
	}
	for i := range 1 + r.IntN(2) {
		pod.Spec.Containers = append(pod.Spec.Containers, randomContainer(r, fmt.Sprintf("c%d", i), false))
	}
	return pod
}

// randomPlanInput gives every container 0..2 instances in this or the
// previous sandbox, in random states, with random started flags, probe
// results, spec hashes and crash-loop back-off.
func randomPlanInput(r *rand.Rand) *planInput {
	pod := randomPod(r)
	now := t0.Add(time.Duration(r.IntN(120)) * time.Second)
	st := &EngineState{SandboxAttempt: 1 + int32(r.IntN(2)), Started: map[string]bool{}, Backoff: map[string]BackoffEntry{}}
	probes := map[string]probeState{}
	restartAfterKill := map[string]bool{}
	var all []*corev1.Container
	for i := range pod.Spec.InitContainers {
		all = append(all, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		all = append(all, &pod.Spec.Containers[i])
	}
	for _, c := range all {
		for k := range r.IntN(3) {
			in := Instance{ID: fmt.Sprintf("%s-%d", c.Name, k), Container: c.Name, Attempt: int32(k),
				SandboxAttempt: st.SandboxAttempt - int32(r.IntN(4)/3),
				State:          pick(r, InstanceCreated, InstanceRunning, InstanceRunning, InstanceExited, InstanceExited, InstanceUnknown),
				SpecHash:       pick(r, specHash(c), specHash(c), "", "stale"),
				FinishedAt:     t0.Add(time.Duration(r.IntN(60)) * time.Second)}
			if in.State == InstanceExited || in.State == InstanceUnknown {
				in.ExitCode = pick(r, int32(0), 0, 1, 137)
				in.Reason = pick(r, "", "", "OOMKilled")
			}
			st.Instances = append(st.Instances, in)
			st.Started[in.ID] = r.IntN(2) == 0
			res := []results.Result{results.Unknown, results.Success, results.Failure}
			probes[in.ID] = probeState{Startup: pick(r, res...), Liveness: pick(r, res...)}
		}
		if r.IntN(3) == 0 {
			st.Backoff[backoffKey(c)] = BackoffEntry{Backoff: pick(r, 10*time.Second, 40*time.Second),
				LastUpdate: t0.Add(time.Duration(r.IntN(90)) * time.Second)}
		}
		restartAfterKill[c.Name] = r.IntN(4) == 0
	}
	r.Shuffle(len(st.Instances), func(i, j int) { st.Instances[i], st.Instances[j] = st.Instances[j], st.Instances[i] })
	return &planInput{Pod: pod, State: st, Probes: probes, SandboxReady: true,
		RestartAfterKill: restartAfterKill, Now: now}
}

// randomStatus is a container status of any kind podPhase tells apart, or
// none (nil).
func randomStatus(r *rand.Rand, name string) *corev1.ContainerStatus {
	cs := &corev1.ContainerStatus{Name: name}
	term := func() *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ExitCode: pick(r, int32(0), 0, 1, 137)}
	}
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		cs.State.Running = &corev1.ContainerStateRunning{}
		cs.Started = pick(r, (*bool)(nil), new(bool), func() *bool { b := true; return &b }())
	case 2:
		cs.State.Terminated = term()
	case 3:
		cs.State.Waiting = &corev1.ContainerStateWaiting{}
		if r.IntN(2) == 0 {
			cs.LastTerminationState.Terminated = term()
		}
	case 4:
		if r.IntN(2) == 0 {
			cs.LastTerminationState.Terminated = term() // a last state alone
		}
	case 5:
		cs.State.Waiting = &corev1.ContainerStateWaiting{}
		cs.LastTerminationState.Terminated = term()
	}
	return cs
}

// randomStatuses gives each container of list a random status (or none).
func randomStatuses(r *rand.Rand, list []corev1.Container) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for i := range list {
		if cs := randomStatus(r, list[i].Name); cs != nil {
			out = append(out, *cs)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
