package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/metrics"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/daemon/openapi"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap/zaptest"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// fakeEngine stands in for supervisor.Manager: it remembers the pods it
// was given and, on Delete, reports them finished through the sink
// (immediately, or when the test calls finish).
type fakeEngine struct {
	mu        sync.Mutex
	sink      supervisor.Sink
	pods      map[types.UID]*supervisor.PodRecord
	calls     []string
	instances map[string]supervisor.Instance // key uid/container
	holdStop  bool                           // Delete does not finish the pod by itself
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{pods: map[types.UID]*supervisor.PodRecord{}, instances: map[string]supervisor.Instance{}}
}

func (f *fakeEngine) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeEngine) Start(ctx context.Context, rec *supervisor.PodRecord) error {
	f.record("Start " + rec.Pod.Name + " " + string(rec.Pod.UID))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pods[rec.Pod.UID] = rec
	return nil
}

func (f *fakeEngine) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	f.record("UpdatePod " + pod.Name + " " + pod.Spec.Containers[0].Image)
	return nil
}

func (f *fakeEngine) Delete(ctx context.Context, uid types.UID, grace *int64) error {
	g := "nil"
	if grace != nil {
		g = strconv.FormatInt(*grace, 10)
	}
	f.record("Delete " + string(uid) + " " + g)
	if !f.holdStop {
		go func() { _ = f.finish(uid) }()
	}
	return nil
}

// finish reports the pod stopped: terminal phase, as the engine would.
func (f *fakeEngine) finish(uid types.UID) error {
	f.mu.Lock()
	rec, ok := f.pods[uid]
	delete(f.pods, uid)
	f.mu.Unlock()
	if !ok {
		return errors.New("unknown pod")
	}
	final := &supervisor.PodRecord{Pod: rec.Pod.DeepCopy(), Engine: rec.Engine}
	final.Pod.Status.Phase = corev1.PodSucceeded
	return f.sink.PodFinished(context.Background(), final)
}

func (f *fakeEngine) Get(uid types.UID) (*supervisor.PodRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.pods[uid]
	if !ok {
		return nil, false
	}
	return &supervisor.PodRecord{Pod: rec.Pod.DeepCopy(), Engine: rec.Engine}, true
}

func (f *fakeEngine) setEngineState(uid types.UID, st supervisor.EngineState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pods[uid].Engine = st
}

func (f *fakeEngine) Instance(uid types.UID, container string) (supervisor.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.instances[string(uid)+"/"+container]
	return in, ok
}

// fakeImages is an in-memory image store.
type fakeImages struct {
	mu       sync.Mutex
	images   map[string]supervisor.ImageStatus
	readyErr error
}

func (f *fakeImages) ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	data, _ := io.ReadAll(rd)
	st := supervisor.ImageStatus{Present: true, Ref: strings.TrimSpace(string(data)), ID: "sha256:abc", Size: int64(len(data))}
	f.mu.Lock()
	f.images[st.Ref] = st
	f.mu.Unlock()
	return []supervisor.ImageStatus{st}, nil
}

func (f *fakeImages) ListImages(ctx context.Context) ([]supervisor.ImageStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []supervisor.ImageStatus
	for _, st := range f.images {
		out = append(out, st)
	}
	return out, nil
}

func (f *fakeImages) ImageStatus(ctx context.Context, ref string) (supervisor.ImageStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[ref], nil
}

func (f *fakeImages) PullImage(ctx context.Context, ref string, _ supervisor.PullProgress) (supervisor.ImageStatus, error) {
	st := supervisor.ImageStatus{Present: true, Ref: ref, ID: "sha256:pulled", Size: 42}
	f.mu.Lock()
	f.images[ref] = st
	f.mu.Unlock()
	return st, nil
}

func (f *fakeImages) RemoveImage(ctx context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.images, ref)
	return nil
}

func (f *fakeImages) Ready(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyErr
}

// testServer is a Server on a real unix socket.
type testServer struct {
	t      *testing.T
	srv    *Server
	obj    *objects.Objects
	st     *store.Store
	engine *fakeEngine
	wire   *testWiring
	images *fakeImages
	client *http.Client
	root   string
}

// newTestServer builds the object layer and the server over it; mod, if
// set, adjusts the server's options.
func newTestServer(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	return newTestServerObjects(t, mod, nil)
}

// newTestServerObjects is newTestServer with objMod adjusting the
// object layer's options.
func newTestServerObjects(t *testing.T, mod func(*Options), objMod func(*objects.Options)) *testServer {
	t.Helper()
	// Server-side apply's type converter is built once per process, on
	// the first write that records managed fields (~0.5 s under -race):
	// built here, it never meets a test's short RequestTimeout.
	if _, err := openapi.TypeConverter(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st, err := store.Open(context.Background(), root, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	images := &fakeImages{images: map[string]supervisor.ImageStatus{}}
	m := metrics.New(nil, nil)
	oo := objects.Options{Store: st, Logger: zaptest.NewLogger(t), Metrics: m}
	o := Options{Images: images, Logger: zaptest.NewLogger(t), Root: root,
		LogPollInterval: 10 * time.Millisecond, Metrics: m}
	if mod != nil {
		mod(&o)
	}
	if objMod != nil {
		objMod(&oo)
	}
	obj, err := objects.New(oo)
	if err != nil {
		t.Fatal(err)
	}
	o.Objects = obj
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	eng := newFakeEngine()
	eng.sink = obj
	wire := &testWiring{engine: eng}
	if err := obj.Connect(objects.Wiring{Engine: wire, Jobs: wire, Pods: wire}); err != nil {
		t.Fatal(err)
	}
	srv.SetReady(true)
	sock := filepath.Join(t.TempDir(), "podrund.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = st.Close()
	})
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	return &testServer{t: t, srv: srv, obj: obj, wire: wire, st: st, engine: eng, images: images, client: client, root: root}
}

// do sends a request and returns the code and body.
func (ts *testServer) do(method, path, contentType string, body []byte) (int, []byte) {
	ts.t.Helper()
	resp, data := ts.doResp(method, path, contentType, body)
	return resp.StatusCode, data
}

// doResp sends a request and returns the answer (headers too) and its body.
func (ts *testServer) doResp(method, path, contentType string, body []byte) (*http.Response, []byte) {
	ts.t.Helper()
	req, err := http.NewRequest(method, "http://podrund"+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return ts.send(req)
}

// send sends req and returns the response with its whole body.
func (ts *testServer) send(req *http.Request) (*http.Response, []byte) {
	ts.t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func (ts *testServer) status(data []byte) metav1.Status {
	ts.t.Helper()
	var s metav1.Status
	if err := json.Unmarshal(data, &s); err != nil || s.Kind != "Status" {
		ts.t.Fatalf("not a Status body: %s", data)
	}
	return s
}

func (ts *testServer) pod(data []byte) *corev1.Pod {
	ts.t.Helper()
	var p corev1.Pod
	if err := json.Unmarshal(data, &p); err != nil {
		ts.t.Fatalf("not a pod: %s", data)
	}
	return &p
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// testWiring is what a test server's objects are connected to (once, as
// daemon/app does): it forwards to an engine and a Job controller that a
// test may swap after the server is built.
type testWiring struct {
	mu     sync.Mutex
	engine objects.Engine
	jobs   objects.JobController
	pods   objects.PodObserver
}

func (w *testWiring) setEngine(e objects.Engine) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.engine = e
}

func (w *testWiring) setJobs(jc objects.JobController, obs objects.PodObserver) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs, w.pods = jc, obs
}

func (w *testWiring) parts() (objects.Engine, objects.JobController, objects.PodObserver) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.engine, w.jobs, w.pods
}

func (w *testWiring) eng() objects.Engine { e, _, _ := w.parts(); return e }

func (w *testWiring) Start(ctx context.Context, rec *supervisor.PodRecord) error {
	return w.eng().Start(ctx, rec)
}
func (w *testWiring) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	return w.eng().UpdatePod(ctx, pod)
}
func (w *testWiring) Delete(ctx context.Context, uid types.UID, grace *int64) error {
	return w.eng().Delete(ctx, uid, grace)
}
func (w *testWiring) Get(uid types.UID) (*supervisor.PodRecord, bool) { return w.eng().Get(uid) }
func (w *testWiring) Instance(uid types.UID, container string) (supervisor.Instance, bool) {
	return w.eng().Instance(uid, container)
}
func (w *testWiring) OnJobApplied(ctx context.Context, job *batchv1.Job) {
	if _, jc, _ := w.parts(); jc != nil {
		jc.OnJobApplied(ctx, job)
	}
}
func (w *testWiring) OnJobDeleted(ctx context.Context, job *batchv1.Job) {
	if _, jc, _ := w.parts(); jc != nil {
		jc.OnJobDeleted(ctx, job)
	}
}
func (w *testWiring) PodChanged(pod *corev1.Pod) {
	if _, _, obs := w.parts(); obs != nil {
		obs.PodChanged(pod)
	}
}
func (w *testWiring) Diagnose(uid types.UID) (*supervisor.PodDiagnosis, bool) {
	if dg, ok := w.eng().(Diagnoser); ok {
		return dg.Diagnose(uid)
	}
	return nil, false
}
