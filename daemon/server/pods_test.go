package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const podsPath = "/api/v1/namespaces/default/pods"

func (ts *testServer) create(body string) *corev1.Pod {
	ts.t.Helper()
	code, data := ts.do("POST", podsPath, "application/yaml", []byte(body))
	if code != http.StatusCreated {
		ts.t.Fatalf("create: %d %s", code, data)
	}
	return ts.pod(data)
}

func (ts *testServer) put(body string) *corev1.Pod {
	ts.t.Helper()
	code, data := ts.do("PUT", podsPath+"/myapp", "application/yaml", []byte(body))
	if code != http.StatusOK {
		ts.t.Fatalf("put: %d %s", code, data)
	}
	return ts.pod(data)
}

func TestCreateSetsServerFieldsAndStarts(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	if p.UID == "" || p.CreationTimestamp.IsZero() || p.ResourceVersion == "" || p.Namespace != "default" ||
		p.Kind != "Pod" || p.Status.Phase != corev1.PodPending {
		t.Fatalf("server fields not set: %+v", p.ObjectMeta)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.TerminationGracePeriodSeconds == nil {
		t.Fatalf("spec not defaulted: %+v", p.Spec)
	}
	calls := ts.engine.Calls()
	if len(calls) != 1 || calls[0] != "Start myapp "+string(p.UID) {
		t.Fatalf("engine calls %v", calls)
	}
	// JSON bodies work as well as YAML.
	js := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox:1.28"}]}}`
	if code, data := ts.do("POST", podsPath, "application/json", []byte(js)); code != 201 {
		t.Fatalf("json create: %d %s", code, data)
	}
	code, data := ts.do("GET", "/api/v1/pods", "", nil)
	var list corev1.PodList
	if code != 200 || json.Unmarshal(data, &list) != nil || len(list.Items) != 2 || list.Kind != "PodList" {
		t.Fatalf("list all: %d %s", code, data)
	}
}

// docs/contract.md §3 apply: unchanged keeps the resourceVersion and touches
// nothing; an image-only change is in place; other changes replace the pod
// with a new UID once the old one has stopped.
func TestApplyUnchangedInPlaceAndReplace(t *testing.T) {
	ts := newTestServer(t, nil)
	orig := ts.create(goodPod)

	same := ts.put(goodPod)
	if same.ResourceVersion != orig.ResourceVersion || same.UID != orig.UID {
		t.Fatalf("unchanged apply changed rv %s→%s", orig.ResourceVersion, same.ResourceVersion)
	}

	labelled := ts.put(strings.Replace(goodPod, "  name: myapp\n", "  name: myapp\n  labels: {tier: web}\n", 1))
	if labelled.ResourceVersion == orig.ResourceVersion || labelled.UID != orig.UID || labelled.Labels["tier"] != "web" {
		t.Fatalf("label change: %+v", labelled.ObjectMeta)
	}

	imgPod := strings.Replace(goodPod, "busybox:1.28", "busybox:latest", 1)
	imgPod = strings.Replace(imgPod, "  name: myapp\n", "  name: myapp\n  labels: {tier: web}\n", 1)
	inPlace := ts.put(imgPod)
	if inPlace.UID != orig.UID || inPlace.Spec.Containers[0].Image != "busybox:latest" ||
		inPlace.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Fatalf("in-place update: %+v", inPlace.Spec.Containers[0])
	}
	if calls := ts.engine.Calls(); calls[len(calls)-1] != "UpdatePod myapp busybox:latest" {
		t.Fatalf("engine calls %v", calls)
	}

	ts.engine.holdStop = true
	replaced := strings.Replace(imgPod, `["sleep", "3600"]`, `["sleep", "10"]`, 1)
	next := ts.put(replaced)
	if next.UID == orig.UID || next.ResourceVersion == inPlace.ResourceVersion {
		t.Fatalf("replacement kept identity: uid %s rv %s", next.UID, next.ResourceVersion)
	}
	// Until the old pod stops, GET shows it terminating; a repeated apply is unchanged.
	code, data := ts.do("GET", podsPath+"/myapp", "", nil)
	if old := ts.pod(data); code != 200 || old.UID != orig.UID || old.DeletionTimestamp == nil {
		t.Fatalf("old pod during replacement: %d %+v", code, old.ObjectMeta)
	}
	if again := ts.put(replaced); again.UID != next.UID || again.ResourceVersion != next.ResourceVersion {
		t.Fatalf("re-apply during replacement: %+v", again.ObjectMeta)
	}
	if err := ts.engine.finish(orig.UID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replacement started", func() bool {
		calls := ts.engine.Calls()
		return calls[len(calls)-1] == "Start myapp "+string(next.UID)
	})
	_, data = ts.do("GET", podsPath+"/myapp", "", nil)
	if got := ts.pod(data); got.UID != next.UID || got.Spec.Containers[0].Command[1] != "10" {
		t.Fatalf("after replacement: %+v", got.ObjectMeta)
	}
}

func TestDeleteKeepsPodUntilFinished(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.engine.holdStop = true
	p := ts.create(goodPod)
	code, data := ts.do("DELETE", podsPath+"/myapp?gracePeriodSeconds=5", "", nil)
	del := ts.pod(data)
	if code != 200 || del.DeletionTimestamp == nil || *del.DeletionGracePeriodSeconds != 5 {
		t.Fatalf("delete answer: %d %s", code, data)
	}
	if calls := ts.engine.Calls(); calls[len(calls)-1] != "Delete "+string(p.UID)+" 5" {
		t.Fatalf("engine calls %v", calls)
	}
	if code, _ := ts.do("GET", podsPath+"/myapp", "", nil); code != 200 {
		t.Fatalf("pod vanished before the engine finished: %d", code)
	}
	// A status save from the engine does not drop the deletion mark.
	_ = ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: p})
	_, data = ts.do("GET", podsPath+"/myapp", "", nil)
	if ts.pod(data).DeletionTimestamp == nil {
		t.Fatal("SavePod dropped deletionTimestamp")
	}
	if err := ts.engine.finish(p.UID); err != nil {
		t.Fatal(err)
	}
	if code, _ := ts.do("GET", podsPath+"/myapp", "", nil); code != 404 {
		t.Fatalf("pod still there after finish: %d", code)
	}
}

// readWatch opens a watch and returns a function that reads the next event.
func (ts *testServer) watch(path string) (func() (string, *corev1.Pod), func()) {
	ts.t.Helper()
	req, _ := http.NewRequest("GET", "http://podrund"+path, nil)
	resp, err := ts.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		ts.t.Fatalf("watch: %v %v", err, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next := func() (string, *corev1.Pod) {
		ts.t.Helper()
		if !sc.Scan() {
			ts.t.Fatalf("watch ended: %v", sc.Err())
		}
		var ev api.WatchEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			ts.t.Fatalf("bad watch line %q", sc.Text())
		}
		var p corev1.Pod
		_ = json.Unmarshal(ev.Object, &p)
		return ev.Type, &p
	}
	return next, func() { resp.Body.Close() }
}

func TestWatchOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.engine.holdStop = true
	other := strings.Replace(goodPod, "name: myapp", "name: other", 1)
	existing := ts.create(other)
	next, stop := ts.watch(podsPath + "?watch=true")
	defer stop()
	if typ, p := next(); typ != "ADDED" || p.UID != existing.UID {
		t.Fatalf("first event %s %s, want ADDED of the existing pod", typ, p.Name)
	}
	named, stopNamed := ts.watch(podsPath + "?watch=true&fieldSelector=metadata.name%3Dmyapp")
	defer stopNamed()

	p := ts.create(goodPod)
	running := p.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	if err := ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: running}); err != nil {
		t.Fatal(err)
	}
	// Saving the same status again announces nothing.
	_ = ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: running})
	ts.do("DELETE", podsPath+"/myapp", "", nil)
	_ = ts.engine.finish(p.UID)

	for _, w := range []func() (string, *corev1.Pod){next, named} {
		want := []string{"ADDED Pending", "MODIFIED Running", "MODIFIED Running", "DELETED Succeeded"}
		for i, wnt := range want {
			typ, got := w()
			if got.Name != "myapp" || typ+" "+string(got.Status.Phase) != wnt {
				t.Fatalf("event %d: %s %s %s, want %s", i, typ, got.Name, got.Status.Phase, wnt)
			}
			if typ == "DELETED" && (got.DeletionTimestamp == nil || got.Kind != "Pod") {
				t.Fatalf("DELETED lacks the final object: %+v", got.ObjectMeta)
			}
		}
	}
}

func TestPodStartLatencyObservedOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	started := p.DeepCopy()
	started.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Started: ptr.To(true)}}
	for i := 0; i < 2; i++ {
		_ = ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: started})
	}
	finished := started.DeepCopy()
	finished.Status.Phase = corev1.PodSucceeded
	finished.Status.ContainerStatuses[0].State.Terminated = &corev1.ContainerStateTerminated{
		FinishedAt: metav1.NewTime(time.Now().Add(-time.Second))}
	_ = ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: finished})
	_, body := ts.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(body), "podrun_job_completion_duration_seconds_count 1\n") {
		t.Fatalf("completion latency not observed:\n%s", grepLines(string(body), "podrun_job"))
	}
	if !strings.Contains(string(body), "podrun_pod_start_duration_seconds_count 1\n") {
		t.Fatalf("start latency not observed once:\n%s", grepLines(string(body), "podrun_pod_start"))
	}
	if !strings.Contains(string(body), `podrun_api_request_duration_seconds_count{code="201",method="POST",route="/api/v1/namespaces/{ns}/pods"}`) {
		t.Fatalf("API request not recorded:\n%s", grepLines(string(body), "podrun_api"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Deleting a pod that waits for its replacement drops the replacement:
// nothing starts once the old pod has stopped.
func TestDeleteDuringReplacementDropsPending(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.engine.holdStop = true
	orig := ts.create(goodPod)
	next := ts.put(strings.Replace(goodPod, `"3600"`, `"10"`, 1))
	if next.UID == orig.UID {
		t.Fatal("not replaced")
	}
	if code, data := ts.do("DELETE", podsPath+"/myapp?gracePeriodSeconds=0", "", nil); code != 200 {
		t.Fatalf("delete: %d %s", code, data)
	}
	if err := ts.engine.finish(orig.UID); err != nil {
		t.Fatal(err)
	}
	if code, _ := ts.do("GET", podsPath+"/myapp", "", nil); code != 404 {
		t.Fatalf("pod after delete during replacement: %d", code)
	}
	for _, c := range ts.engine.Calls() {
		if strings.HasPrefix(c, "Start myapp "+string(next.UID)) {
			t.Fatalf("replacement started after delete: %v", ts.engine.Calls())
		}
	}
}

// A pod the engine does not run (its worker is gone) is removed at once.
func TestDeleteOfUnknownPodFinishesAtOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	ts.engine.mu.Lock()
	delete(ts.engine.pods, p.UID)
	ts.engine.mu.Unlock()
	code, data := ts.do("DELETE", podsPath+"/myapp", "", nil)
	if code != 200 || ts.pod(data).DeletionTimestamp == nil {
		t.Fatalf("delete: %d %s", code, data)
	}
	if code, _ := ts.do("GET", podsPath+"/myapp", "", nil); code != 404 {
		t.Fatalf("pod still there: %d", code)
	}
}

// recordingLogRemover notes the pods whose logs the server removed.
type recordingLogRemover struct {
	mu   sync.Mutex
	uids []types.UID
}

func (r *recordingLogRemover) RemovePodLogs(pod *corev1.Pod) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uids = append(r.uids, pod.UID)
	return nil
}

func (r *recordingLogRemover) removed() []types.UID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]types.UID(nil), r.uids...)
}

// TestDeletedPodLosesItsLogs: a pod's logs go with the pod, once the engine
// reports it finished and its record is gone (the kubelet removes a deleted
// pod's logs too), not when the delete is merely accepted.
func TestDeletedPodLosesItsLogs(t *testing.T) {
	logs := &recordingLogRemover{}
	ts := newTestServerObjects(t, nil, func(o *objects.Options) { o.Logs = logs })
	ts.engine.holdStop = true
	p := ts.create(goodPod)
	if code, data := ts.do("DELETE", podsPath+"/myapp", "", nil); code != 200 {
		t.Fatalf("delete: %d %s", code, data)
	}
	if got := logs.removed(); len(got) != 0 {
		t.Fatalf("logs removed while the pod still stops: %v", got)
	}
	if err := ts.engine.finish(p.UID); err != nil {
		t.Fatal(err)
	}
	if got := logs.removed(); len(got) != 1 || got[0] != p.UID {
		t.Fatalf("logs removed for %v, want exactly the deleted pod %s", got, p.UID)
	}
}
