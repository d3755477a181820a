package supervisor

import (
	"reflect"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
)

func diagnosis(pod *corev1.Pod, st EngineState) *PodDiagnosis {
	if st.Started == nil {
		st.Started = map[string]bool{}
	}
	if st.Ready == nil {
		st.Ready = map[string]bool{}
	}
	return &PodDiagnosis{Record: &PodRecord{Pod: pod, Engine: st}, Probes: map[string]map[results.Kind]ProbeInfo{}}
}

func blockerLines(bs []Blocker) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Message)
	}
	return out
}

func TestBlockers_StartupProbeOfSidecarHoldsInit(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"proxy:sidecar", "migrate"}, "app")
	pod.Spec.InitContainers[0].StartupProbe = &corev1.Probe{PeriodSeconds: 2, FailureThreshold: 30}
	d := diagnosis(pod, EngineState{Instances: []Instance{inst(pod, "proxy", InstanceRunning, 0)}})
	now := t0.Add(10 * time.Second)
	d.Probes["proxy-id"] = map[results.Kind]ProbeInfo{results.Startup: {Result: results.Failure, Failures: 4, LastAt: now.Add(-1500 * time.Millisecond)}}
	bs := Blockers(d, now)
	want := []string{"sidecar proxy: startup probe failing (4/30), next probe in 1s"}
	if got := blockerLines(bs); !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q (R19: migrate and app wait behind proxy)", got, want)
	}
	if !bs[0].Until.Equal(now.Add(500*time.Millisecond)) || bs[0].Class != Sidecar {
		t.Fatalf("blocker = %+v", bs[0])
	}
	// Before the first result: no count to show.
	d.Probes = nil
	if got := blockerLines(Blockers(d, now)); got[0] != "sidecar proxy: startup probe not passed yet" {
		t.Fatalf("no result yet: %q", got)
	}
}

func TestBlockers_InitCrashLoop(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"migrate"}, "app")
	crashed := inst(pod, "migrate", InstanceExited, 3) // finished at t0+1s
	st := EngineState{Instances: []Instance{crashed},
		Backoff: map[string]BackoffEntry{backoffKey(&pod.Spec.InitContainers[0]): {Backoff: 20 * time.Second, LastUpdate: t0}},
		Waiting: map[string]WaitingReason{"migrate": {Reason: "CrashLoopBackOff", Since: crashed.FinishedAt}}}
	got := blockerLines(Blockers(diagnosis(pod, st), t0.Add(3*time.Second)))
	want := []string{"init container migrate: CrashLoopBackOff, next start in 18s (last exit code 3)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func TestBlockers_ImagePullAndConfigError(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "app", "web")
	pod.Spec.Containers[0].Image = "foo:1"
	st := EngineState{Initialized: true, Waiting: map[string]WaitingReason{
		"app": {Reason: "ErrImagePull", Message: "pull failed"},
		"web": {Reason: "CreateContainerConfigError", Message: `configmap "x" not found`},
	}}
	d := diagnosis(pod, st)
	d.PullBackoff = map[string]BackoffEntry{"foo:1": {Backoff: 10 * time.Second, LastUpdate: t0}}
	got := blockerLines(Blockers(d, t0.Add(2*time.Second)))
	want := []string{"image foo:1: pull failing (ErrImagePull), next pull in 8s",
		`container web: CreateContainerConfigError: configmap "x" not found`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func TestBlockers_RunningReadyHasNone_NotReadySays(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"proxy:sidecar"}, "app")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 5, FailureThreshold: 3}
	st := EngineState{Initialized: true, Instances: []Instance{inst(pod, "proxy", InstanceRunning, 0), inst(pod, "app", InstanceRunning, 0)},
		Started: map[string]bool{"proxy-id": true, "app-id": true}, Ready: map[string]bool{"app-id": true}}
	if got := Blockers(diagnosis(pod, st), t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("a ready pod has blockers: %q", blockerLines(got))
	}
	st.Ready = map[string]bool{}
	d := diagnosis(pod, st)
	d.Probes["app-id"] = map[results.Kind]ProbeInfo{results.Readiness: {Failures: 2, LastAt: t0.Add(time.Minute)}}
	got := blockerLines(Blockers(d, t0.Add(time.Minute+time.Second)))
	want := []string{"container app: readiness probe failing (2/3), next probe in 4s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func TestBlockers_TerminatingWithSidecar_R61(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, []string{"log-shipper:sidecar"}, "app")
	st := EngineState{Initialized: true,
		Instances:   []Instance{inst(pod, "log-shipper", InstanceRunning, 0), inst(pod, "app", InstanceExited, 0)},
		Terminating: &Termination{Reason: TermDeleted, Since: t0, GracePeriod: 30}}
	got := blockerLines(Blockers(diagnosis(pod, st), t0.Add(8*time.Second)))
	want := []string{"terminating: waiting for sidecar log-shipper (grace 22s left)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func TestBlockers_FinishedPodHasNone(t *testing.T) {
	pod := testPod(corev1.RestartPolicyNever, nil, "job")
	pod.Status.Phase = corev1.PodSucceeded
	st := EngineState{Initialized: true, Instances: []Instance{inst(pod, "job", InstanceExited, 0)}}
	if got := Blockers(diagnosis(pod, st), t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("finished pod: %q", blockerLines(got))
	}
	if Blockers(nil, t0) != nil {
		t.Fatal("nil diagnosis must give no blockers")
	}
}

func TestHistory_KeepsPrunedInstancesBounded(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	st := &EngineState{Waiting: map[string]WaitingReason{}, Backoff: map[string]BackoffEntry{}}
	ready := func(*Instance) bool { return true }
	for i := 0; i < maxHistory+10; i++ {
		in := inst(pod, "app", InstanceExited, 1)
		in.ID, in.Attempt = "id"+string(rune('A'+i%26))+string(rune('a'+i/26)), int32(i)
		st.Instances = []Instance{in} // the engine prunes Instances, history keeps them
		syncHistory(st, ready, t0)
	}
	if len(st.History) != maxHistory {
		t.Fatalf("history has %d records, want %d", len(st.History), maxHistory)
	}
	if last := st.History[len(st.History)-1]; last.Attempt != maxHistory+9 || last.ExitCode != 1 || last.State != "Exited" {
		t.Fatalf("newest record = %+v", last)
	}
	run := inst(pod, "app", InstanceRunning, 0)
	st.Instances = []Instance{run}
	st.Backoff[backoffKey(&pod.Spec.Containers[0])] = BackoffEntry{Backoff: 40 * time.Second}
	syncHistory(st, ready, t0.Add(time.Minute))
	markKilled(st, run.ID, t0.Add(2*time.Minute))
	r := historyRecord(st, run.ID)
	if r == nil || !r.ReadyAt.Equal(t0.Add(time.Minute)) || !r.KilledAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("running record = %+v", r)
	}
	st.Instances[0].State, st.Instances[0].FinishedAt = InstanceExited, t0.Add(3*time.Minute)
	st.Waiting["app"] = WaitingReason{Reason: "CrashLoopBackOff", Since: t0.Add(3 * time.Minute)}
	syncHistory(st, ready, t0.Add(3*time.Minute))
	if r := historyRecord(st, run.ID); !r.BackoffUntil.Equal(t0.Add(3*time.Minute + 40*time.Second)) {
		t.Fatalf("back-off not recorded: %+v", r)
	}
}

func TestBlockers_PullInProgress(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.Containers[0].Image = "foo:1"
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: pullMessage("foo:1", 12_300_000, 40_000_000)}}}}
	got := blockerLines(Blockers(diagnosis(pod, EngineState{Initialized: true}), t0))
	if want := []string{"image foo:1: pulling, 12.3 MB of 40.0 MB"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
	pod.Status.ContainerStatuses = nil
	got = blockerLines(Blockers(diagnosis(pod, EngineState{Initialized: true}), t0))
	if want := []string{"container app: not started yet"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}
