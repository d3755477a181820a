package manifests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/api/client"
	"github.com/podrun/podrun/daemon/objects"
	"github.com/podrun/podrun/daemon/server"
	"github.com/podrun/podrun/daemon/store"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
)

// world is the API's handler over a real store and object layer (no
// engine: ConfigMaps and Secrets need none), as podrund wires them.
type world struct {
	t    *testing.T
	dir  string
	m    *Manager
	c    *client.Client // an API client that does not force
	objs *objects.Objects
}

func newWorld(t *testing.T) *world {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	objs, err := objects.New(objects.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "manifests")
	m, err := New(Options{Dir: dir, API: NewObjectsAPI(objs), Events: objs, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, dir: dir, m: m, c: client.NewWithTransport(handlerTransport{srv.Handler()}), objs: objs}
}

func (w *world) write(name, content string) string {
	w.t.Helper()
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) sync() {
	w.t.Helper()
	if err := w.m.Sync(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) configMap(name string) (*corev1.ConfigMap, bool) {
	cm := &corev1.ConfigMap{}
	err := w.c.Get(context.Background(), client.ConfigMaps, "default", name, cm)
	if client.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return cm, true
}

// events are the stored events with reason, summed by count.
func (w *world) events(reason string) (n int32, msgs []string) {
	evs, _, err := w.objs.Events().List(context.Background(), "default")
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range evs {
		if e.Reason == reason {
			n += e.Count
			msgs = append(msgs, e.Message)
		}
	}
	return n, msgs
}

const confA = `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a2}
data: {k: "1"}
`

func TestManagerLifecycleOfAFile(t *testing.T) {
	w := newWorld(t)
	w.sync() // no directory yet: nothing, no error
	path := w.write("a.yaml", confA)
	w.sync()
	cm, ok := w.configMap("a")
	if !ok || api.ManifestFile(cm.Annotations) != path {
		t.Fatalf("configmap a after the first pass: %v, annotations %v", ok, cm)
	}
	w.sync() // unchanged: nothing is applied again
	if n, msgs := w.events(ReasonApplied); n != 1 {
		t.Fatalf("applied events after an unchanged pass: %d %q", n, msgs)
	}

	// An API write is refused without force, and names the file.
	cm.Data["k"] = "api"
	err := w.c.Update(context.Background(), client.ConfigMaps, "default", "a", cm, nil)
	if se, ok := client.AsStatusError(err); !ok || se.Code() != http.StatusConflict ||
		se.Error() != `configmap "a" is managed by `+path+`; edit that file, or use --force` {
		t.Fatalf("unforced PUT of a file's object: %v", err)
	}
	if err := w.c.Delete(context.Background(), client.ConfigMaps, "default", "a", client.DeleteOptions{}, nil); err == nil {
		t.Fatal("unforced DELETE of a file's object succeeded")
	}
	if err := w.c.WithForce().Update(context.Background(), client.ConfigMaps, "default", "a", cm, nil); err != nil {
		t.Fatalf("forced PUT: %v", err)
	}

	// A bad file: reported with the file, and what it made stays.
	w.write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: [}\n")
	w.sync()
	if _, msgs := w.events(ReasonFailed); len(msgs) != 1 || !strings.Contains(msgs[0], path) {
		t.Fatalf("failure events %q, want one naming %s", msgs, path)
	}
	if _, ok := w.configMap("a"); !ok {
		t.Fatal("a broken file's object was deleted")
	}

	// A document removed from the file goes; the rest stays.
	w.write("a.yaml", strings.Split(confA, "---\n")[0])
	w.sync()
	if _, ok := w.configMap("a2"); ok {
		t.Fatal("the removed document's configmap is still there")
	}
	if cm, _ := w.configMap("a"); cm == nil || cm.Data["k"] != "1" {
		t.Fatalf("configmap a after the file was fixed: %v", cm)
	}

	// The file goes: its objects go.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	w.sync()
	if _, ok := w.configMap("a"); ok {
		t.Fatal("the removed file's configmap is still there")
	}
}

func TestManagerInvalidObjectNamesFieldAndSparesOthers(t *testing.T) {
	w := newWorld(t)
	w.write("good.yaml", confA)
	bad := w.write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {\"no/slash\": x}\n")
	w.sync()
	if _, ok := w.configMap("a"); !ok {
		t.Fatal("a good file was not applied beside a bad one")
	}
	_, msgs := w.events(ReasonFailed)
	if len(msgs) != 1 || !strings.Contains(msgs[0], bad) || !strings.Contains(msgs[0], "data[no/slash]") {
		t.Fatalf("failure events %q, want one naming %s and the field", msgs, bad)
	}
}

func TestManagerConflictFirstFileWins(t *testing.T) {
	w := newWorld(t)
	a := w.write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {from: a}\n")
	b := w.write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {from: b}\n")
	w.sync()
	if cm, _ := w.configMap("x"); cm == nil || cm.Data["from"] != "a" || api.ManifestFile(cm.Annotations) != a {
		t.Fatalf("configmap x: %v", cm)
	}
	_, msgs := w.events(ReasonConflict)
	if len(msgs) != 1 || !strings.Contains(msgs[0], a) || !strings.Contains(msgs[0], b) {
		t.Fatalf("conflict events %q, want one naming both files", msgs)
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	w.sync()
	if cm, _ := w.configMap("x"); cm == nil || cm.Data["from"] != "b" || api.ManifestFile(cm.Annotations) != b {
		t.Fatalf("configmap x once a.yaml is gone: %v", cm)
	}
}

// TestManagerHostileFiles: a file past the size bound is refused by name,
// and a FIFO named like a manifest neither hangs the pass nor counts.
func TestManagerHostileFiles(t *testing.T) {
	w := newWorld(t)
	big := w.write("big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: \""+
		strings.Repeat("x", maxFileBytes)+"\"}\n")
	if err := syscall.Mkfifo(filepath.Join(w.dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.write("good.yaml", confA)
	done := make(chan struct{})
	go func() { w.sync(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a FIFO hung the pass")
	}
	if _, ok := w.configMap("a"); !ok {
		t.Fatal("the good file was not applied")
	}
	if _, msgs := w.events(ReasonFailed); len(msgs) != 1 || !strings.Contains(msgs[0], big) || !strings.Contains(msgs[0], "larger than") {
		t.Fatalf("failure events %q, want one refusing %s for its size", msgs, big)
	}
}

// TestManagerReappliesAJobAtBoot: a new podrund (an empty memory of
// what was applied) puts a file's Job again; the server-owned fields the
// API added (selector, controller labels) must not make that a refusal.
func TestManagerReappliesAJobAtBoot(t *testing.T) {
	w := newWorld(t)
	w.write("job.yaml", `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.28, command: ["true"]}]
`)
	w.sync()
	reboot, err := New(w.m.o)
	if err != nil {
		t.Fatal(err)
	}
	if err := reboot.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, msgs := w.events(ReasonFailed); n != 0 {
		t.Fatalf("the Job was refused at the second boot: %q", msgs)
	}
	if n, msgs := w.events(ReasonApplied); n != 2 {
		t.Fatalf("applied events %d %q, want 2", n, msgs)
	}
}

// handlerTransport answers a test's API client with podrund's handler in
// this process, for the writes a user makes beside the pass.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}
