package main

// These tests run podctl against the real REST server (daemon/server) with
// a real bbolt store and a stand-in engine, so that the client and the
// server are checked against each other, not each against its own reading
// of the contract.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/daemon/server"
	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
)

// compatEngine runs every pod at once (Running, Ready) and stops it on
// Delete (Succeeded), reporting through daemon/objects' Sink as the engine does.
type compatEngine struct {
	mu      sync.Mutex
	sink    supervisor.Sink
	pods    map[types.UID]*corev1.Pod
	updates []string
}

func (e *compatEngine) Start(ctx context.Context, rec *supervisor.PodRecord) error {
	pod := rec.Pod.DeepCopy()
	e.mu.Lock()
	e.pods[pod.UID] = pod
	e.mu.Unlock()
	go func() {
		started := true
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.88.0.9",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		for _, c := range pod.Spec.Containers {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: true, Started: &started,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
		}
		_ = e.sink.SavePod(context.Background(), &supervisor.PodRecord{Pod: pod})
		_ = e.sink.RecordEvent(context.Background(), &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: pod.Name + ".started", Namespace: pod.Namespace},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, FieldPath: "spec.containers{app}"},
			Reason:         "Started", Message: "Started container app", Type: "Normal",
			Source: corev1.EventSource{Component: "podrund"}})
	}()
	return nil
}

func (e *compatEngine) UpdatePod(ctx context.Context, pod *corev1.Pod) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.updates = append(e.updates, pod.Spec.Containers[0].Image)
	return nil
}

func (e *compatEngine) Delete(ctx context.Context, uid types.UID, grace *int64) error {
	e.mu.Lock()
	pod, ok := e.pods[uid]
	delete(e.pods, uid)
	e.mu.Unlock()
	if !ok {
		return nil
	}
	go func() {
		time.Sleep(50 * time.Millisecond) // a graceful stop takes a moment
		final := pod.DeepCopy()
		final.Status.Phase = corev1.PodSucceeded
		final.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: pod.Spec.Containers[0].Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}
		_ = e.sink.PodFinished(context.Background(), &supervisor.PodRecord{Pod: final})
	}()
	return nil
}

func (e *compatEngine) Get(uid types.UID) (*supervisor.PodRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pods[uid]
	if !ok {
		return nil, false
	}
	return &supervisor.PodRecord{Pod: p.DeepCopy()}, true
}

func (e *compatEngine) Instance(types.UID, string) (supervisor.Instance, bool) {
	return supervisor.Instance{}, false
}

// startRealServer serves daemon/server on a socket and returns its path.
func startRealServer(t *testing.T) (string, *compatEngine) {
	t.Helper()
	root := t.TempDir()
	st, err := store.Open(context.Background(), root, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := objects.New(objects.Options{Store: st, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	eng := &compatEngine{sink: objs, pods: map[types.UID]*corev1.Pod{}}
	if err := objs.Connect(objects.Wiring{Engine: eng}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Objects: objs, Logger: zap.NewNop(), Root: root, Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetReady(true)
	sock := filepath.Join(t.TempDir(), "podrund.sock")
	ln, err := server.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = st.Close() })
	return sock, eng
}

func podctlAt(t *testing.T, sock string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut safeBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"--socket", sock}, args...), streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return result{out.String(), errOut.String(), code}
}

func TestAgainstRealServer(t *testing.T) {
	sock, eng := startRealServer(t)
	doc := strings.ReplaceAll(manifest, "IMAGE_TAG", "1.28")

	r := podctlAt(t, sock, doc, "apply", "-f", "-", "--wait", "--timeout", "10s")
	if r.code != 0 || r.stdout != "configmap/cfg created\npod/web created\npod/web ready\n" {
		t.Fatalf("apply --wait: %+v", r)
	}
	if r := podctlAt(t, sock, doc, "apply", "-f", "-"); r.stdout != "configmap/cfg unchanged\npod/web unchanged\n" {
		t.Errorf("re-apply: %+v", r)
	}
	changed := strings.ReplaceAll(manifest, "IMAGE_TAG", "1.36")
	if r := podctlAt(t, sock, changed, "apply", "-f", "-"); r.stdout != "configmap/cfg unchanged\npod/web configured\n" {
		t.Errorf("image change: %+v", r)
	}
	eng.mu.Lock()
	if len(eng.updates) != 1 || eng.updates[0] != "busybox:1.36" {
		t.Errorf("in-place updates %v", eng.updates)
	}
	eng.mu.Unlock()

	r = podctlAt(t, sock, "", "get", "pods")
	if got := fields(r.stdout); r.code != 0 || len(got) != 2 || !strings.HasPrefix(got[1], "web 1/1 Running 0 ") {
		t.Errorf("get pods: %+v", r)
	}
	r = podctlAt(t, sock, "", "get", "pods", "-A", "-o", "json")
	var l struct {
		Kind  string       `json:"kind"`
		Items []corev1.Pod `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Kind != "List" || len(l.Items) != 1 || l.Items[0].Status.PodIP != "10.88.0.9" {
		t.Errorf("get pods -A -o json: %v %+v", err, r)
	}
	r = podctlAt(t, sock, "", "describe", "pod", "web")
	if out := squash(r.stdout); r.code != 0 || !strings.Contains(out, "Normal Started") || !strings.Contains(out, "Image: busybox:1.36") {
		t.Errorf("describe: %+v", r)
	}
	if r := podctlAt(t, sock, "", "get", "cm", "cfg", "-o", "name"); r.stdout != "configmap/cfg\n" {
		t.Errorf("get cm: %+v", r)
	}

	r = podctlAt(t, sock, "", "delete", "pod", "web", "-o", "json")
	var final corev1.Pod
	if err := json.Unmarshal([]byte(r.stdout), &final); err != nil || final.Status.Phase != corev1.PodSucceeded {
		t.Errorf("delete -o json: %v %+v", err, r)
	}
	if r := podctlAt(t, sock, "", "wait", "pod", "web", "--for=delete", "--timeout", "5s"); r.code != 0 {
		t.Errorf("wait --for=delete: %+v", r)
	}
	r = podctlAt(t, sock, "", "get", "pod", "web")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (NotFound): ") {
		t.Errorf("get deleted pod: %+v", r)
	}
	if r := podctlAt(t, sock, "", "delete", "cm", "cfg"); r.code != 0 || r.stdout != "configmap \"cfg\" deleted\n" {
		t.Errorf("delete cm: %+v", r)
	}
	if r := podctlAt(t, sock, "", "version"); r.code != 0 || !strings.Contains(r.stdout, "Server Version: v9.9.9") {
		t.Errorf("version: %+v", r)
	}
}

func TestRealServerErrors(t *testing.T) {
	sock, _ := startRealServer(t)
	noImage := "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: app}]\n"
	r := podctlAt(t, sock, noImage, "apply", "-f", "-")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `Error from server (Invalid): Pod "x" is invalid: spec.containers[0].image: Required value`) {
		t.Errorf("invalid pod: %+v", r)
	}
	r = podctlAt(t, sock, "", "delete", "pod", "nope")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (NotFound): ") {
		t.Errorf("delete missing pod: %+v", r)
	}
	r = podctlAt(t, sock, "", "logs", "nope")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (NotFound): ") {
		t.Errorf("logs of a missing pod: %+v", r)
	}
}

func TestRealServerJobsAndSecrets(t *testing.T) {
	sock, _ := startRealServer(t)
	if r := podctlAt(t, sock, jobManifest, "apply", "-f", "-"); r.code != 0 || r.stdout != "job.batch/pi created\n" {
		t.Fatalf("apply job: %+v", r)
	}
	if r := podctlAt(t, sock, jobManifest, "apply", "-f", "-"); r.stdout != "job.batch/pi unchanged\n" {
		t.Errorf("re-apply job: %+v", r)
	}
	r := podctlAt(t, sock, "", "get", "job", "pi", "-o", "json")
	var job struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &job); err != nil || job.Kind != "Job" {
		t.Errorf("get job -o json: %v %+v", err, r)
	}
	if r := podctlAt(t, sock, "", "get", "jobs"); !strings.HasPrefix(fields(r.stdout)[1], "pi Running 0/1") {
		t.Errorf("get jobs: %+v", r)
	}
	if r := podctlAt(t, sock, "", "delete", "job", "pi", "--wait=true"); r.code != 0 || r.stdout != "job.batch \"pi\" deleted\n" {
		t.Errorf("delete job: %+v", r)
	}
	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {token: abc}\n"
	if r := podctlAt(t, sock, secret, "apply", "-f", "-"); r.stdout != "secret/creds created\n" {
		t.Errorf("apply secret: %+v", r)
	}
	if r := podctlAt(t, sock, secret, "apply", "-f", "-"); r.stdout != "secret/creds unchanged\n" {
		t.Errorf("re-apply of a secret with stringData: %+v", r)
	}
	if r := podctlAt(t, sock, "", "get", "secrets"); !strings.HasPrefix(fields(r.stdout)[1], "creds Opaque 1 ") {
		t.Errorf("get secrets: %+v", r)
	}
	if r := podctlAt(t, sock, "", "get", "events", "-A"); r.code != 0 {
		t.Errorf("get events -A: %+v", r)
	}
}

// TestRealServerWarnings: a pod field podrun runs differently from the
// kubelet is admitted, and podctl prints the server's warning naming the
// field on stderr, once, as kubectl prints the API server's.
func TestRealServerWarnings(t *testing.T) {
	sock, _ := startRealServer(t)
	doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: reader}\nspec:\n  containers:\n" +
		"  - {name: shell, image: busybox:1.28, stdin: true, tty: true}\n" +
		"  - {name: reader, image: busybox:1.28, command: [cat], stdin: true}\n"
	r := podctlAt(t, sock, doc, "apply", "-f", "-")
	if r.code != 0 || r.stdout != "pod/reader created\n" {
		t.Fatalf("apply: %+v", r)
	}
	if !strings.HasPrefix(r.stderr, "Warning: spec.containers[1].stdin: without tty: true") || strings.Count(r.stderr, "Warning:") != 1 {
		t.Errorf("stderr %q, want one warning naming spec.containers[1].stdin", r.stderr)
	}
	plain := strings.ReplaceAll(manifest, "IMAGE_TAG", "1.28")
	if r := podctlAt(t, sock, plain, "apply", "-f", "-"); r.code != 0 || r.stderr != "" {
		t.Errorf("apply of a plain pod: %+v", r)
	}
}
