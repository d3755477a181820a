package supervisor

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestPlanPrepareAhead: the planner lists the later containers of the
// sandbox's start sequence that may be created ahead, in turn order, and
// nothing where a preparation could not be used.
func TestPlanPrepareAhead(t *testing.T) {
	withInits := testPod(corev1.RestartPolicyAlways, []string{"i1", "s:sidecar", "i3"}, "r1", "r2")
	plain := testPod(corev1.RestartPolicyAlways, nil, "a", "b", "c")
	onFailure := testPod(corev1.RestartPolicyOnFailure, []string{"i1"}, "a", "b")
	pullAlways := plain.DeepCopy()
	pullAlways.Spec.Containers[1].ImagePullPolicy = corev1.PullAlways
	exited := func(pod *corev1.Pod, name string, code int32, sandbox int32) Instance {
		in := inst(pod, name, InstanceExited, code)
		in.SandboxAttempt = sandbox
		return in
	}
	running := func(pod *corev1.Pod, name string) Instance { return inst(pod, name, InstanceRunning, 0) }
	for _, c := range []struct {
		name         string
		pod          *corev1.Pod
		sandboxReady bool
		sandbox      int32
		instances    []Instance
		started      []string
		want         []string
	}{
		{name: "new sandbox: every init container after the first, then the regular ones",
			pod: withInits, want: []string{"s", "i3", "r1", "r2"}},
		{name: "new sandbox, no init containers: the regular ones after the first",
			pod: plain, want: []string{"b", "c"}},
		{name: "a pull at the turn is not prepared", pod: pullAlways, want: []string{"c"}},
		{name: "plain init running: the ones after it", pod: withInits, sandboxReady: true, sandbox: 1,
			instances: []Instance{running(withInits, "i1")}, want: []string{"s", "i3", "r1", "r2"}},
		{name: "sidecar started: the next starts now, the ones after it may be prepared",
			pod: withInits, sandboxReady: true, sandbox: 1,
			instances: []Instance{exited(withInits, "i1", 0, 1), running(withInits, "s")}, started: []string{"s-id"},
			want: []string{"r1", "r2"}},
		{name: "initialized and running: nothing", pod: withInits, sandboxReady: true, sandbox: 1,
			instances: []Instance{exited(withInits, "i1", 0, 1), running(withInits, "s"), exited(withInits, "i3", 0, 1),
				running(withInits, "r1"), running(withInits, "r2")}, started: []string{"s-id"}},
		{name: "a plain init container failed here: nothing", pod: withInits, sandboxReady: true, sandbox: 1,
			instances: []Instance{exited(withInits, "i1", 1, 1)}},
		{name: "re-initialization skips a regular container done under OnFailure (R106)",
			pod: onFailure, sandbox: 1, instances: []Instance{exited(onFailure, "i1", 0, 1), exited(onFailure, "a", 0, 1),
				running(onFailure, "b")},
			want: []string{"b"}},
		{name: "an older sandbox's failed init does not count in a new one", pod: withInits, sandbox: 1,
			instances: []Instance{exited(withInits, "i1", 1, 1)}, want: []string{"s", "i3", "r1", "r2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &EngineState{Instances: c.instances, SandboxAttempt: c.sandbox, Started: map[string]bool{}}
			for _, id := range c.started {
				st.Started[id] = true
			}
			p := computeActions(&planInput{Pod: c.pod, State: st, SandboxReady: c.sandboxReady, Now: t0.Add(time.Minute)})
			var got []string
			for _, item := range p.PrepareAhead {
				if containerOf(c.pod, item).Name != item.Container || item.SpecHash != specHash(containerOf(c.pod, item)) {
					t.Fatalf("item %+v does not name its container", item)
				}
				got = append(got, item.Container)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("PrepareAhead %v, want %v (plan %+v)", got, c.want, p)
			}
		})
	}
}

// TestPlanPrepareAheadNoneWhenTerminating: a plan that terminates the
// pod lists nothing to prepare.
func TestPlanPrepareAheadNoneWhenTerminating(t *testing.T) {
	pod := testPod(corev1.RestartPolicyNever, []string{"i1", "i2"}, "r")
	st := &EngineState{Instances: []Instance{inst(pod, "i1", InstanceExited, 1)}, SandboxAttempt: 1, Started: map[string]bool{}}
	p := computeActions(&planInput{Pod: pod, State: st, SandboxReady: true, Now: t0.Add(time.Minute)})
	if p.Terminate != TermInitFailed || len(p.PrepareAhead) != 0 {
		t.Fatalf("plan %+v: want InitFailed and nothing prepared", p)
	}
}
