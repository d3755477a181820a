package supervisor

import (
	corev1 "k8s.io/api/core/v1"
)

// PrepareItem is a later container the worker may create ahead of its
// turn (Options.PrepareAhead): snapshot, container and task made, the
// process started only at the turn.
type PrepareItem struct {
	Container string
	Class     ContainerClass
	Index     int // into spec.initContainers (Class PlainInit, Sidecar) or spec.containers
	// SpecHash is the definition it would be prepared from: an image
	// change makes another list, and a prepared instance of the old one is
	// removed.
	SpecHash string
}

// planPrepareAhead fills p.PrepareAhead (R117): the containers of this sandbox's
// start sequence (init containers in spec order, then the regular ones
// that will run, R106) that come after every container with an instance
// in this sandbox and after the first one this plan starts, in the order
// their turns come. A container that needs a pull at its turn (policy
// Always: "Pulling" belongs to the turn) is left out, and nothing is
// listed once a plain init container failed in this sandbox: its
// restarts are single-container restarts (R21).
func planPrepareAhead(in *planInput, p *Plan) {
	fresh := p.CreateSandbox // the plan makes a new sandbox: nothing is in it
	if !fresh && plainInitFailedHere(in) {
		return
	}
	seq := startSequence(in)
	next := 0 // the first position that may be prepared
	for k, item := range seq {
		if !fresh && hasInstanceHere(in, item.Container) {
			next = k + 1
		}
	}
	if k := firstPlannedStart(seq, p); k >= next {
		next = k + 1
	}
	for _, item := range seq[next:] {
		if pullPolicy(containerOf(in.Pod, item)) != corev1.PullAlways {
			p.PrepareAhead = append(p.PrepareAhead, item)
		}
	}
}

// startSequence lists the containers a sandbox starts, in order: every
// init container, then the regular containers that will run.
func startSequence(in *planInput) []PrepareItem {
	pod := in.Pod
	seq := make([]PrepareItem, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		seq = append(seq, PrepareItem{Container: c.Name, Class: classOf(c, true), Index: i, SpecHash: specHash(c)})
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if completedForGood(in.State, pod, c) {
			continue
		}
		seq = append(seq, PrepareItem{Container: c.Name, Class: Regular, Index: i, SpecHash: specHash(c)})
	}
	return seq
}

// firstPlannedStart is the position in seq of the first container p
// starts, or -1.
func firstPlannedStart(seq []PrepareItem, p *Plan) int {
	class, index := Regular, -1
	switch {
	case len(p.StartInit) > 0:
		class, index = PlainInit, p.StartInit[0]
	case len(p.StartRegular) > 0:
		index = p.StartRegular[0]
	default:
		return -1
	}
	for k, item := range seq {
		if item.Index == index && (item.Class == Regular) == (class == Regular) {
			return k
		}
	}
	return -1
}

// containerOf returns the spec of item.
func containerOf(pod *corev1.Pod, item PrepareItem) *corev1.Container {
	if item.Class == Regular {
		return &pod.Spec.Containers[item.Index]
	}
	return &pod.Spec.InitContainers[item.Index]
}

// hasInstanceHere reports whether container has an instance in the
// current sandbox.
func hasInstanceHere(in *planInput, container string) bool {
	cur, _ := newest(in.State, container, in.State.SandboxAttempt)
	return cur != nil
}

// plainInitFailedHere reports whether a plain init container exited
// non-zero in the current sandbox.
func plainInitFailedHere(in *planInput) bool {
	st := in.State
	for i := range st.Instances {
		inst := &st.Instances[i]
		c, init := findContainer(in.Pod, inst.Container)
		if init && c != nil && !isSidecar(c) && inst.SandboxAttempt == st.SandboxAttempt &&
			inst.State == InstanceExited && inst.ExitCode != 0 {
			return true
		}
	}
	return false
}

// completedForGood reports whether regular container c succeeded under
// OnFailure (its own policy or the pod's) in any sandbox: it never runs
// again, not even when a new sandbox re-initializes the pod (R106).
func completedForGood(st *EngineState, pod *corev1.Pod, c *corev1.Container) bool {
	cur, _ := newest(st, c.Name, -1)
	return runsOnce(pod, c) && cur != nil && cur.State == InstanceExited && cur.ExitCode == 0
}
