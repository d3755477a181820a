package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/supervisor"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

type recordingRefresher struct {
	mu   sync.Mutex
	pods []string
}

func (r *recordingRefresher) Refresh(ctx context.Context, pod *corev1.Pod) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pods = append(r.pods, pod.Name)
	return nil
}

type recordingJobs struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingJobs) OnJobApplied(ctx context.Context, j *batchv1.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "applied "+j.Name+" "+j.ResourceVersion)
}

func (r *recordingJobs) OnJobDeleted(ctx context.Context, j *batchv1.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "deleted "+j.Name)
}

const cmYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n  k: v1\n"

const podWithConf = `apiVersion: v1
kind: Pod
metadata:
  name: user
spec:
  volumes:
  - name: c
    configMap: {name: conf}
  containers:
  - name: app
    image: busybox:1.28
    volumeMounts: [{name: c, mountPath: /etc/conf}]
`

func TestConfigMapApplyRefreshesUsers(t *testing.T) {
	ref := &recordingRefresher{}
	ts := newTestServerObjects(t, nil, func(o *objects.Options) { o.Volumes = ref })
	user := ts.create(podWithConf)
	ts.create(goodPod) // does not use the ConfigMap
	ts.engine.setEngineState(user.UID, supervisor.EngineState{Waiting: map[string]supervisor.WaitingReason{
		"app": {Reason: "CreateContainerConfigError"}}})

	cmPath := "/api/v1/namespaces/default/configmaps"
	code, data := ts.do("POST", cmPath, "application/yaml", []byte(cmYAML))
	if code != 201 {
		t.Fatalf("create configmap: %d %s", code, data)
	}
	var created corev1.ConfigMap
	_ = json.Unmarshal(data, &created)
	if created.UID == "" || created.Kind != "ConfigMap" {
		t.Fatalf("configmap answer %s", data)
	}
	if strings.Join(ref.pods, ",") != "user" {
		t.Fatalf("refreshed %v, want [user]", ref.pods)
	}
	calls := ts.engine.Calls()
	if calls[len(calls)-1] != "UpdatePod user busybox:1.28" {
		t.Fatalf("waiting pod not re-synced: %v", calls)
	}
	// Applying the same again changes nothing and refreshes nothing.
	code, data = ts.do("PUT", cmPath+"/conf", "application/yaml", []byte(cmYAML))
	var same corev1.ConfigMap
	_ = json.Unmarshal(data, &same)
	if code != 200 || same.ResourceVersion != created.ResourceVersion || len(ref.pods) != 1 {
		t.Fatalf("unchanged configmap: %d rv %s→%s refreshed %v", code, created.ResourceVersion, same.ResourceVersion, ref.pods)
	}
	code, _ = ts.do("PUT", cmPath+"/conf", "application/yaml", []byte(strings.Replace(cmYAML, "k: v1", "k: v2", 1)))
	if code != 200 || len(ref.pods) != 2 {
		t.Fatalf("changed configmap: %d refreshed %v", code, ref.pods)
	}
	if code, _ := ts.do("DELETE", cmPath+"/conf", "", nil); code != 200 {
		t.Fatalf("delete configmap: %d", code)
	}
	if code, _ := ts.do("GET", cmPath+"/conf", "", nil); code != 404 {
		t.Fatalf("configmap after delete: %d", code)
	}
}

func TestSecretStringDataAndInvalid(t *testing.T) {
	ts := newTestServer(t, nil)
	path := "/api/v1/namespaces/default/secrets"
	code, data := ts.do("POST", path, "application/yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  pw: hunter2\n"))
	var s corev1.Secret
	_ = json.Unmarshal(data, &s)
	if code != 201 || string(s.Data["pw"]) != "hunter2" || len(s.StringData) != 0 || s.Type != corev1.SecretTypeOpaque {
		t.Fatalf("secret: %d %s", code, data)
	}
	code, data = ts.do("POST", path, "application/yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: Bad_Name\n"))
	if code != 422 {
		t.Fatalf("invalid secret: %d %s", code, data)
	}
	code, data = ts.do("GET", "/api/v1/secrets", "", nil)
	var list corev1.SecretList
	if code != 200 || json.Unmarshal(data, &list) != nil || len(list.Items) != 1 || list.Kind != "SecretList" {
		t.Fatalf("all-namespace secret list: %d %s", code, data)
	}
}

const jobYAML = `apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox:1.28
`

func TestJobsCRUDAndHook(t *testing.T) {
	jobs := &recordingJobs{}
	ts := newTestServer(t, nil)
	ts.wire.setJobs(jobs, nil)
	path := "/apis/batch/v1/namespaces/default/jobs"
	code, data := ts.do("POST", path, "application/yaml", []byte(jobYAML))
	var j batchv1.Job
	_ = json.Unmarshal(data, &j)
	if code != 201 || j.UID == "" || j.Spec.Selector == nil || j.Kind != "Job" || j.APIVersion != "batch/v1" {
		t.Fatalf("create job: %d %s", code, data)
	}
	if code, _ := ts.do("PUT", path+"/once", "application/yaml", []byte(jobYAML)); code != 200 {
		t.Fatalf("re-apply job: %d", code)
	}
	if code, _ := ts.do("DELETE", path+"/once", "", nil); code != 200 {
		t.Fatalf("delete job: %d", code)
	}
	want := "applied once " + j.ResourceVersion + ",deleted once"
	if got := strings.Join(jobs.calls, ","); got != want {
		t.Fatalf("job hook calls %q, want %q", got, want)
	}
}

func TestEventsAPI(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	ev := &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "myapp", UID: p.UID,
		FieldPath: "spec.containers{app}"}, Reason: "Pulled", Message: "ok", Type: "Normal",
		Source: corev1.EventSource{Component: "podrund"}}
	_ = ts.obj.RecordEvent(context.Background(), ev)
	_ = ts.obj.RecordEvent(context.Background(), ev)
	code, data := ts.do("GET", "/api/v1/namespaces/default/events", "", nil)
	var list corev1.EventList
	if code != 200 || json.Unmarshal(data, &list) != nil || len(list.Items) != 1 || list.Items[0].Count != 2 {
		t.Fatalf("events: %d %s", code, data)
	}
	code, data = ts.do("POST", "/api/v1/namespaces/default/events", "application/json", []byte(`{"reason":"X"}`))
	if code != 422 {
		t.Fatalf("invalid event: %d %s", code, data)
	}
}

func TestImagesAPI(t *testing.T) {
	ts := newTestServer(t, nil)
	code, data := ts.do("POST", "/images/import", "application/x-tar", []byte("docker.io/library/busybox:1.28"))
	var list api.ImageList
	if code != 200 || json.Unmarshal(data, &list) != nil || list.Items[0].Name != "docker.io/library/busybox:1.28" {
		t.Fatalf("import: %d %s", code, data)
	}
	code, data = ts.do("POST", "/images/pull?ref=registry.lan/x:1", "", nil)
	var img api.Image
	if code != 200 || json.Unmarshal(data, &img) != nil || img.ID != "sha256:pulled" {
		t.Fatalf("pull: %d %s", code, data)
	}
	if code, data = ts.do("GET", "/images", "", nil); code != 200 || !strings.Contains(string(data), "registry.lan/x:1") {
		t.Fatalf("list: %d %s", code, data)
	}
	if code, data = ts.do("DELETE", "/images?ref=registry.lan/x:1", "", nil); code != 200 || !strings.Contains(string(data), `"size":42`) {
		t.Fatalf("remove: %d %s", code, data)
	}
	if code, _ = ts.do("DELETE", "/images?ref=registry.lan/x:1", "", nil); code != 404 {
		t.Fatalf("remove again: %d", code)
	}
	if code, _ = ts.do("POST", "/images/pull", "", nil); code != 400 {
		t.Fatalf("pull without ref: %d", code)
	}
	if code, _ = ts.do("DELETE", "/images", "", nil); code != 400 {
		t.Fatalf("remove without ref: %d", code)
	}
	code, data = ts.do("GET", "/version", "", nil)
	var v api.Version
	if code != 200 || json.Unmarshal(data, &v) != nil || v.GoVersion == "" {
		t.Fatalf("version: %d %s", code, data)
	}
}

func TestFieldSelectors(t *testing.T) {
	ts := newTestServer(t, nil)
	p := ts.create(goodPod)
	ts.create(strings.Replace(goodPod, "name: myapp", "name: other", 1))
	running := p.DeepCopy()
	running.Status.Phase = corev1.PodRunning
	_ = ts.obj.SavePod(context.Background(), &supervisor.PodRecord{Pod: running})
	for _, name := range []string{"myapp", "other"} {
		_ = ts.obj.RecordEvent(context.Background(), &corev1.Event{Reason: "Started", Message: name,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name}})
	}
	count := func(path string) int {
		code, data := ts.do("GET", path, "", nil)
		var l struct{ Items []json.RawMessage }
		if code != 200 || json.Unmarshal(data, &l) != nil {
			t.Fatalf("%s: %d %s", path, code, data)
		}
		return len(l.Items)
	}
	cases := map[string]int{
		"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dother":      1,
		"/api/v1/events?fieldSelector=involvedObject.kind%3DPod,reason%3DStarted":          2,
		"/api/v1/namespaces/default/pods?fieldSelector=status.phase%21%3DRunning":          1,
		"/api/v1/pods?fieldSelector=metadata.name%3D%3Dmyapp,metadata.namespace%3Ddefault": 1,
		"/api/v1/pods?fieldSelector=metadata.namespace%3Dkube-system":                      0,
	}
	for path, want := range cases {
		if got := count(path); got != want {
			t.Errorf("%s: %d items, want %d", path, got, want)
		}
	}
	if code, data := ts.do("GET", "/api/v1/pods?fieldSelector=spec.hostname%3Dx", "", nil); code != 400 ||
		!strings.Contains(ts.status(data).Message, "field label not supported") {
		t.Fatalf("unsupported field: %d %s", code, data)
	}
}
