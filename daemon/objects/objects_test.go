package objects

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/podrun/podrun/daemon/store"
	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// stubEngine runs nothing: started pods are only remembered.
type stubEngine struct {
	mu   sync.Mutex
	pods map[types.UID]*supervisor.PodRecord
}

func (e *stubEngine) Start(_ context.Context, rec *supervisor.PodRecord) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pods[rec.Pod.UID] = rec
	return nil
}
func (e *stubEngine) UpdatePod(context.Context, *corev1.Pod) error { return nil }
func (e *stubEngine) Delete(context.Context, types.UID, *int64) error {
	return nil
}
func (e *stubEngine) Get(uid types.UID) (*supervisor.PodRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.pods[uid]
	return rec, ok
}
func (e *stubEngine) Instance(types.UID, string) (supervisor.Instance, bool) {
	return supervisor.Instance{}, false
}

// newTestObjects is Objects over a fresh store with a watch history of
// history changes, connected to an engine that runs nothing.
func newTestObjects(t testing.TB, history int) *Objects {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b, err := New(Options{Store: st, Logger: zaptest.NewLogger(t), WatchHistory: history})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(Wiring{Engine: &stubEngine{pods: map[types.UID]*supervisor.PodRecord{}}}); err != nil {
		t.Fatal(err)
	}
	return b
}

func configMap(name string, labels map[string]string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
		Data: map[string]string{"k": data}}
}

func mustCreate(t *testing.T, res *Resource[*corev1.ConfigMap], cm *corev1.ConfigMap) *corev1.ConfigMap {
	t.Helper()
	out, err := res.Create(context.Background(), cm, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func listRequest(t *testing.T, bucket, query string) *ListRequest {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewListRequest(bucket, "default", q)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func wantStatus(t *testing.T, what string, err error, code int32, reason metav1.StatusReason, msg string) {
	t.Helper()
	var st apierrors.APIStatus
	if err == nil || !asStatus(err, &st) {
		t.Fatalf("%s: %v, want a %d %s", what, err, code, reason)
	}
	s := st.Status()
	if s.Code != code || s.Reason != reason || !strings.Contains(s.Message, msg) {
		t.Fatalf("%s: %d %s %q, want %d %s containing %q", what, s.Code, s.Reason, s.Message, code, reason, msg)
	}
}

func asStatus(err error, st *apierrors.APIStatus) bool {
	return errors.As(err, st)
}

func TestStaleUpdateIsConflict(t *testing.T) {
	b := newTestObjects(t, 16)
	res := b.ConfigMapResource()
	ctx := context.Background()
	first := mustCreate(t, res, configMap("c", nil, "1"))
	// Two clients read the same version; the second write loses.
	a, c := first.DeepCopy(), first.DeepCopy()
	a.Data["k"], c.Data["k"] = "from-a", "from-c"
	if _, err := res.Update(ctx, a, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := res.Update(ctx, c, WriteOptions{})
	wantStatus(t, "stale update", err, 409, metav1.StatusReasonConflict,
		`Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again`)
	if d := err.(apierrors.APIStatus).Status().Details; d == nil || d.Name != "c" || d.Kind != "configmaps" {
		t.Fatalf("conflict details = %+v", d)
	}
	got, _ := res.Get(ctx, "default", "c")
	if got.Data["k"] != "from-a" {
		t.Fatalf("stored %q: the stale write was not refused", got.Data["k"])
	}
	// No resourceVersion: an unconditional write.
	c.ResourceVersion = ""
	if _, err := res.Update(ctx, c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// A different UID is immutable.
	c.UID = "other"
	_, err = res.Update(ctx, c, WriteOptions{})
	wantStatus(t, "uid change", err, 422, metav1.StatusReasonInvalid, "metadata.uid")
}

func TestStalePodUpdateIsConflict(t *testing.T) {
	b := newTestObjects(t, 16)
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}}}
	if err := b.PreparePod(pod); err != nil {
		t.Fatal(err)
	}
	created, err := b.CreatePodAs(ctx, pod, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := created.DeepCopy()
	next := created.DeepCopy()
	next.Labels = map[string]string{"a": "1"}
	if _, err := b.UpdatePod(ctx, next, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Labels = map[string]string{"a": "2"}
	_, err = b.UpdatePod(ctx, stale, WriteOptions{})
	wantStatus(t, "stale pod update", err, 409, metav1.StatusReasonConflict, `Operation cannot be fulfilled on pods "p": the object has been modified`)
}

// TestBeforeConnectIsUnavailable: a request that needs the engine before
// daemon/app connected it is a clear 503, never a nil dereference; and
// the wiring happens once.
func TestBeforeConnectIsUnavailable(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := New(Options{Store: st, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}}}
	if err := b.PreparePod(pod); err != nil {
		t.Fatal(err)
	}
	_, err = b.CreatePodAs(ctx, pod, WriteOptions{})
	wantStatus(t, "create before Connect", err, 503, metav1.StatusReasonServiceUnavailable, "not running yet")
	if _, err := b.Pod(ctx, "default", "p"); !apierrors.IsNotFound(err) {
		t.Fatalf("a pod the engine never took is stored: %v", err)
	}
	// Jobs are only stored without a controller; nothing dereferences it.
	if _, err := b.ConfigMapResource().Create(ctx, configMap("c", nil, "1"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(Wiring{}); err == nil {
		t.Fatal("Connect without an engine was accepted")
	}
	eng := &stubEngine{pods: map[types.UID]*supervisor.PodRecord{}}
	if err := b.Connect(Wiring{Engine: eng}); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(Wiring{Engine: eng}); err == nil {
		t.Fatal("a second Connect was accepted")
	}
	if _, err := b.CreatePodAs(ctx, pod, WriteOptions{}); err != nil {
		t.Fatalf("create after Connect: %v", err)
	}
}
