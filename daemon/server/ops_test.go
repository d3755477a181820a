package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/stats"
	"github.com/podrun/podrun/supervisor"
	"github.com/podrun/podrun/supervisor/probe/results"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// diagEngine is the fake engine plus Diagnose, as *supervisor.Manager has.
type diagEngine struct {
	*fakeEngine
	probes map[string]map[results.Kind]supervisor.ProbeInfo
}

func (d diagEngine) Diagnose(uid types.UID) (*supervisor.PodDiagnosis, bool) {
	rec, ok := d.Get(uid)
	if !ok {
		return nil, false
	}
	return &supervisor.PodDiagnosis{Record: rec, Probes: d.probes}, true
}

func (ts *testServer) getJSON(path string, out any) {
	ts.t.Helper()
	code, data := ts.do("GET", path, "", nil)
	if code != http.StatusOK {
		ts.t.Fatalf("GET %s: %d %s", path, code, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		ts.t.Fatalf("GET %s: %v in %s", path, err, data)
	}
}

func TestBlockersFromStoredStateAndFromDiagnose(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	ts.engine.setEngineState(p.UID, supervisor.EngineState{Waiting: map[string]supervisor.WaitingReason{
		"app": {Reason: "CreateContainerConfigError", Message: `configmap "x" not found`}}})
	var b api.PodBlockers
	ts.getJSON(podsPath+"/myapp/blockers", &b)
	if len(b.Items) != 1 || b.Items[0].Message != `container app: CreateContainerConfigError: configmap "x" not found` ||
		b.Items[0].Class != "Regular" {
		t.Fatalf("blockers = %+v", b)
	}

	// With the engine's probe counts: the startup probe line says how far it is.
	pod := `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
  - name: app
    image: busybox:1.28
    startupProbe: {exec: {command: ["false"]}, periodSeconds: 3, failureThreshold: 30}
`
	pp := ts.create(pod)
	now := time.Now()
	ts.engine.setEngineState(pp.UID, supervisor.EngineState{Initialized: true, Instances: []supervisor.Instance{
		{ID: "i1", Container: "app", State: supervisor.InstanceRunning, StartedAt: now.Add(-time.Minute)}}})
	ts.wire.setEngine(diagEngine{fakeEngine: ts.engine, probes: map[string]map[results.Kind]supervisor.ProbeInfo{
		"i1": {results.Startup: {Result: results.Failure, Failures: 4, LastAt: now}}}})
	ts.getJSON(podsPath+"/probed/blockers", &b)
	if len(b.Items) != 1 || !strings.HasPrefix(b.Items[0].Message, "container app: startup probe failing (4/30), next probe in ") ||
		b.Items[0].Until == nil || b.Items[0].Reason != "StartupProbe" {
		t.Fatalf("blockers = %+v", b)
	}
	if code, _ := ts.do("GET", podsPath+"/nope/blockers", "", nil); code != http.StatusNotFound {
		t.Fatalf("unknown pod: %d", code)
	}
}

func TestTimelineFromHistoryAndEvents(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	st := supervisor.EngineState{
		History: []supervisor.InstanceRecord{
			{ID: "a0", Container: "app", Attempt: 0, CreatedAt: t0, StartedAt: t0.Add(time.Second), FinishedAt: t0.Add(5 * time.Second),
				ExitCode: 1, Reason: "Error", State: "Exited", BackoffUntil: t0.Add(15 * time.Second)},
		},
		// An instance stored before history existed still shows.
		Instances: []supervisor.Instance{{ID: "a1", Container: "app", Attempt: 1, CreatedAt: t0.Add(15 * time.Second),
			StartedAt: t0.Add(16 * time.Second), State: supervisor.InstanceRunning}},
	}
	ts.engine.setEngineState(p.UID, st)
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "default"}, Reason: "BackOff", Message: "Back-off",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "myapp", UID: p.UID, FieldPath: "spec.containers{app}"},
		LastTimestamp:  metav1.NewTime(t0.Add(6 * time.Second)), Count: 2}
	other := ev.DeepCopy()
	other.Name, other.Reason = "e2", "Pulled" // not a timeline reason
	for _, e := range []*corev1.Event{ev, other} {
		if err := ts.obj.RecordEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var tl api.PodTimeline
	ts.getJSON(podsPath+"/myapp/timeline", &tl)
	if len(tl.Instances) != 2 || tl.Instances[0].ID != "a0" || tl.Instances[1].ID != "a1" {
		t.Fatalf("instances = %+v", tl.Instances)
	}
	a0, a1 := tl.Instances[0], tl.Instances[1]
	if a0.ExitCode == nil || *a0.ExitCode != 1 || a0.BackoffUntil == nil || !a0.BackoffUntil.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("crashed instance = %+v", a0)
	}
	if a1.ExitCode != nil || a1.State != "Running" || a1.Class != "Regular" {
		t.Fatalf("running instance = %+v", a1)
	}
	if len(tl.Events) != 1 || tl.Events[0].Reason != "BackOff" || tl.Events[0].Container != "app" || tl.Events[0].Count != 2 {
		t.Fatalf("events = %+v", tl.Events)
	}
}

// fakeCgroups adds 50ms of CPU per read of a container's cgroup.
type fakeCgroups struct {
	mu    sync.Mutex
	reads map[string]int
}

func (f *fakeCgroups) Sample(rel string) (stats.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasSuffix(rel, "/gone") {
		return stats.Sample{}, stats.ErrNoCgroup
	}
	f.reads[rel]++
	return stats.Sample{CPUUsageNanos: uint64(f.reads[rel]) * 50e6, MemoryUsage: 3 << 20, WorkingSet: 2 << 20}, nil
}

func TestStatsSamplesRunningContainers(t *testing.T) {
	cg := &fakeCgroups{reads: map[string]int{}}
	ts := newTestServer(t, func(o *Options) { o.Stats = cg })
	p := ts.create(goodPod)
	ts.engine.setEngineState(p.UID, supervisor.EngineState{Instances: []supervisor.Instance{
		{ID: "old", Container: "app", State: supervisor.InstanceExited},
		{ID: "cur", Container: "app", State: supervisor.InstanceRunning},
		{ID: "gone", Container: "side", State: supervisor.InstanceRunning},
	}})
	var s api.PodStats
	ts.getJSON(podsPath+"/myapp/stats?window=100ms", &s)
	if len(s.Containers) != 1 {
		t.Fatalf("containers = %+v", s.Containers)
	}
	c := s.Containers[0]
	// 50ms of CPU in a 100ms window is half a core.
	if c.Name != "app" || c.ID != "cur" || c.CPUMilli != 500 || c.MemoryBytes != 2<<20 || c.MemoryUsageBytes != 3<<20 || s.Window != "100ms" {
		t.Fatalf("stats = %+v", s)
	}
	if !strings.HasSuffix(func() string {
		for k := range cg.reads {
			return k
		}
		return ""
	}(), "/podrun/pod"+string(p.UID)+"/cur") {
		t.Fatalf("read paths %v", cg.reads)
	}
	for _, bad := range []string{"x", "-1s", "1m"} {
		if code, _ := ts.do("GET", podsPath+"/myapp/stats?window="+bad, "", nil); code != http.StatusBadRequest {
			t.Fatalf("window %s: %d", bad, code)
		}
	}
}
