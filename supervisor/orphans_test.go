package supervisor

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func (f *fakeRuntime) PodLeftovers(ctx context.Context) ([]PodRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PodRef(nil), f.leftovers...), nil
}

func (f *fakeRuntime) RemovePodLogs(pod *corev1.Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("remove-logs %s", pod.UID)
	f.removedLogs = append(f.removedLogs, pod.UID)
	return nil
}

// addContainer puts a container of pod uid into the fake runtime as if a
// podrund before this one had made it.
func (f *fakeRuntime) addContainer(id, uid, name string, state InstanceState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[id] = &fakeContainer{id: id, podUID: uid, name: name, state: state, exited: make(chan struct{})}
}

func (f *fakeRuntime) hasID(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.containers[id] != nil
}

func TestOrphanedPodsPicksUnknownUIDs(t *testing.T) {
	listed := []RuntimeContainer{
		{ID: "b2", PodUID: "gone", Container: "app", PodNamespace: "ns", PodName: "old", State: InstanceRunning},
		{ID: "a1", PodUID: "gone", Container: "side", PodNamespace: "ns", PodName: "old", State: InstanceExited},
		{ID: "c3", PodUID: "kept", Container: "app", State: InstanceRunning},
		{ID: "d4", PodUID: "", Container: "stray"}, // not podrun's shape: never touched
	}
	leftovers := []PodRef{{UID: "dirs-only", Namespace: "ns", Name: "gone-too"}, {UID: "kept"}, {UID: "gone"}}
	got := orphanedPods(listed, leftovers, map[types.UID]bool{"kept": true})
	if len(got) != 2 {
		t.Fatalf("orphans %+v, want gone and dirs-only", got)
	}
	if got[0].ref != (PodRef{UID: "dirs-only", Namespace: "ns", Name: "gone-too"}) || len(got[0].containers) != 0 {
		t.Errorf("first orphan %+v", got[0])
	}
	ids := []string{}
	for _, c := range got[1].containers {
		ids = append(ids, c.ID)
	}
	if got[1].ref != (PodRef{UID: "gone", Namespace: "ns", Name: "old"}) || !reflect.DeepEqual(ids, []string{"a1", "b2"}) {
		t.Errorf("second orphan %+v (containers %v)", got[1].ref, ids)
	}
	if got := orphanedPods(listed[2:3], []PodRef{{UID: "kept"}}, map[types.UID]bool{"kept": true}); len(got) != 0 {
		t.Errorf("a stored pod is no orphan: %+v", got)
	}
}

// TestSweepOrphansStopsAndRemoves: the containers of a pod the store does
// not name are stopped with the kubelet's minimum grace and removed, then
// its sandbox and logs; a stored pod's containers and sandbox are left
// alone, as is everything of a pod only known by its leftovers but stored.
func TestSweepOrphansStopsAndRemoves(t *testing.T) {
	h := newHarness(t, Options{})
	h.rt.addContainer("o-app", "orphan-uid", "app", InstanceRunning)
	h.rt.addContainer("o-side", "orphan-uid", "side", InstanceRunning)
	h.rt.addContainer("o-init", "orphan-uid", "init", InstanceExited)
	h.rt.addContainer("k-app", "kept-uid", "app", InstanceRunning)
	h.rt.leftovers = []PodRef{{UID: "orphan-uid", Namespace: "ns", Name: "old"}, {UID: "kept-uid", Namespace: "ns", Name: "web"},
		{UID: "dirs-uid", Namespace: "ns", Name: "older"}}

	swept, err := h.m.SweepOrphans(context.Background(), map[types.UID]bool{"kept-uid": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(swept) != 2 || swept[0].UID != "dirs-uid" || swept[1] != (PodRef{UID: "orphan-uid", Namespace: "ns", Name: "old"}) {
		t.Fatalf("swept %+v", swept)
	}
	for _, id := range []string{"o-app", "o-side", "o-init"} {
		if h.rt.hasID(id) {
			t.Errorf("orphan container %s still there", id)
		}
	}
	if !h.rt.hasID("k-app") {
		t.Error("the stored pod's container was removed")
	}
	calls := h.rt.callLog()
	for _, want := range []string{"stop app 2s", "stop side 2s", "remove-logs orphan-uid", "remove-logs dirs-uid"} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls lack %q: %v", want, calls)
		}
	}
	if slices.Contains(calls, "stop init 2s") {
		t.Errorf("an exited container was sent a stop: %v", calls)
	}
	if n := strings.Count(strings.Join(calls, "\n"), "remove-sandbox"); n != 2 {
		t.Errorf("%d sandbox removals, want one per orphan: %v", n, calls)
	}
	if slices.Contains(h.rt.removedLogs, types.UID("kept-uid")) {
		t.Error("the stored pod's logs were removed")
	}
}

// TestSweepOrphansNothingToDo: with every pod stored, the sweep touches
// nothing.
func TestSweepOrphansNothingToDo(t *testing.T) {
	h := newHarness(t, Options{})
	h.rt.addContainer("k-app", "kept-uid", "app", InstanceRunning)
	h.rt.leftovers = []PodRef{{UID: "kept-uid"}}
	swept, err := h.m.SweepOrphans(context.Background(), map[types.UID]bool{"kept-uid": true})
	if err != nil || len(swept) != 0 {
		t.Fatalf("swept %v, err %v", swept, err)
	}
	if calls := h.rt.callLog(); len(calls) != 0 {
		t.Errorf("calls %v, want none", calls)
	}
}
