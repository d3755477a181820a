package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor"
	bolt "go.etcd.io/bbolt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// openTemp opens a store in a fresh directory, closed when the test ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s := openTest(t, t.TempDir())
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func cm(ns, name, v string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"k": v}}
}

func TestCollectionRoundTripAndErrors(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	c := s.ConfigMaps()
	created, err := c.Create(ctx, cm("default", "a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if created.ResourceVersion != "1" {
		t.Fatalf("first resourceVersion = %q, want 1", created.ResourceVersion)
	}
	if _, err := c.Create(ctx, cm("default", "a", "1")); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
	got, err := c.Get(ctx, "default", "a")
	if err != nil || got.Data["k"] != "1" {
		t.Fatalf("get = %v, %v", got, err)
	}
	if _, err := c.Get(ctx, "other", "a"); !apierrors.IsNotFound(err) {
		t.Fatalf("get in other namespace: %v, want NotFound", err)
	}
	if _, err := s.ConfigMap(ctx, "default", "missing"); !apierrors.IsNotFound(err) {
		t.Fatalf("ObjectSource lookup: %v, want NotFound", err)
	}
	// An update that changes nothing keeps the resourceVersion.
	same, err := c.Update(ctx, cm("default", "a", "1"))
	if err != nil || same.ResourceVersion != "1" {
		t.Fatalf("unchanged update: rv %q err %v, want rv 1", same.ResourceVersion, err)
	}
	changed, err := c.Update(ctx, cm("default", "a", "2"))
	if err != nil || changed.ResourceVersion != "2" {
		t.Fatalf("changed update: rv %q err %v, want 2", changed.ResourceVersion, err)
	}
	if _, err := c.Update(ctx, cm("default", "zzz", "2")); !apierrors.IsNotFound(err) {
		t.Fatalf("update missing: %v", err)
	}
	_, _ = c.Create(ctx, cm("kube", "b", "1"))
	all, rv, err := c.List(ctx, "")
	if err != nil || len(all) != 2 || rv != 3 {
		t.Fatalf("list all: %d items rv %d err %v", len(all), rv, err)
	}
	def, _, _ := c.List(ctx, "default")
	if len(def) != 1 || def[0].Name != "a" {
		t.Fatalf("list default = %v", def)
	}
	if _, err := c.Delete(ctx, "default", "a", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, "default", "a", "", nil); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestNotifierSeesCommitOrder(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var mu sync.Mutex
	var got []string
	s.SetNotifier(func(c Change) {
		mu.Lock()
		got = append(got, c.Type+":"+formatRV(c.RV))
		mu.Unlock()
	})
	c := s.ConfigMaps()
	_, _ = c.Create(ctx, cm("default", "a", "1"))
	_, _ = c.Update(ctx, cm("default", "a", "1")) // no change, no event
	_, _ = c.Update(ctx, cm("default", "a", "2"))
	_, _ = c.Delete(ctx, "default", "a", "", nil)
	want := "ADDED:1 MODIFIED:2 DELETED:3"
	if strings.Join(got, " ") != want {
		t.Fatalf("changes = %v, want %s", got, want)
	}
}

func TestAcknowledgedWritesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	rec := &supervisor.PodRecord{
		Pod:    &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p", UID: "u1"}},
		Engine: supervisor.EngineState{SandboxAttempt: 2, Instances: []supervisor.Instance{{ID: "abc", Container: "c", Attempt: 3}}},
	}
	if _, err := s.Pods().Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Simulate a kill: the file is reopened by a second handle without a
	// clean shutdown of the first (bbolt fsyncs each commit).
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	copyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(copyDir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, copyDir)
	defer s2.Close()
	got, err := s2.Pods().Get(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if got.Pod.UID != "u1" || got.Engine.SandboxAttempt != 2 || got.Engine.Instances[0].Attempt != 3 {
		t.Fatalf("reopened record = %+v", got)
	}
	if rv, _ := s2.ResourceVersion(); rv != 1 {
		t.Fatalf("resourceVersion after reopen = %d", rv)
	}
}

func TestCorruptStoreIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir)
	defer s.Close()
	matches, _ := filepath.Glob(path + ".corrupt-*")
	if len(matches) != 1 {
		t.Fatalf("corrupt copies = %v, want one", matches)
	}
	if _, err := s.ConfigMaps().Create(context.Background(), cm("default", "a", "1")); err != nil {
		t.Fatalf("fresh store unusable: %v", err)
	}
}

func TestTornStoreIsMovedAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	for i := 0; i < 50; i++ {
		_, _ = s.ConfigMaps().Create(ctx, cm("default", strings.Repeat("x", i+1), strings.Repeat("v", 500)))
	}
	_ = s.Close()
	path := filepath.Join(dir, FileName)
	data, _ := os.ReadFile(path)
	// Tear the file: keep the meta pages, zero everything after them.
	for i := 4096 * 2; i < len(data); i++ {
		data[i] = 0xff
	}
	_ = os.WriteFile(path, data, 0o600)
	s2 := openTest(t, dir)
	defer s2.Close()
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) != 1 {
		t.Fatalf("torn store not moved aside: %v", matches)
	}
}

func TestFinishPodPromotesPending(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var changes []string
	s.SetNotifier(func(c Change) {
		changes = append(changes, c.Type+":"+string(c.Object.(*corev1.Pod).UID))
	})
	old := &supervisor.PodRecord{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "p", UID: "old"}}}
	if _, err := s.Pods().Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPending(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "p", UID: "new"}}); err != nil {
		t.Fatal(err)
	}
	final := old.Pod.DeepCopy()
	final.Status.Phase = corev1.PodSucceeded
	promoted, err := s.FinishPod(ctx, final)
	if err != nil || promoted == nil || promoted.Pod.UID != "new" {
		t.Fatalf("promoted = %+v, %v", promoted, err)
	}
	got, _ := s.Pods().Get(ctx, "d", "p")
	if got.Pod.UID != "new" {
		t.Fatalf("stored pod uid = %s", got.Pod.UID)
	}
	if _, err := s.PendingPods().Get(ctx, "d", "p"); !apierrors.IsNotFound(err) {
		t.Fatalf("pending still there: %v", err)
	}
	want := "ADDED:old DELETED:old ADDED:new"
	if strings.Join(changes, " ") != want {
		t.Fatalf("changes %v, want %s", changes, want)
	}
	// Idempotent: finishing the old pod again touches nothing.
	if p, err := s.FinishPod(ctx, final); err != nil || p != nil {
		t.Fatalf("second finish = %v, %v", p, err)
	}
}

func TestEventsAggregateAndCap(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.EventsPerPod = 3
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(reason string) *corev1.Event {
		return &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "d", Name: "p", UID: "u"},
			Reason:         reason, Message: "m", Type: corev1.EventTypeNormal,
		}
	}
	first, _ := s.RecordEvent(ctx, ev("BackOff"), t0)
	second, err := s.RecordEvent(ctx, ev("BackOff"), t0.Add(time.Minute))
	if err != nil || second.Name != first.Name || second.Count != 2 ||
		!second.FirstTimestamp.Time.Equal(t0) || !second.LastTimestamp.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("aggregated = %+v, %v", second, err)
	}
	for i, r := range []string{"A", "B", "C", "D"} {
		_, _ = s.RecordEvent(ctx, ev(r), t0.Add(time.Duration(i+2)*time.Minute))
	}
	list, _, _ := s.Events().List(ctx, "d")
	if len(list) != 3 {
		t.Fatalf("kept %d events, want cap 3", len(list))
	}
	for _, e := range list {
		if e.Reason == "BackOff" || e.Reason == "A" {
			t.Fatalf("oldest event %s kept", e.Reason)
		}
	}
}

// Engine state that changes behind an unchanged pod is stored without a new
// resourceVersion or a watch event (apply keeps saying "unchanged").
func TestPrivateStateChangeIsQuiet(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var changes int
	s.SetNotifier(func(Change) { changes++ })
	rec := &supervisor.PodRecord{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "p", UID: "u"}}}
	created, _ := s.Pods().Create(ctx, rec)
	rv := created.Pod.ResourceVersion
	got, err := s.Pods().Mutate(ctx, "d", "p", func(r *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		r.Engine.SandboxAttempt = 7
		return r, nil
	})
	if err != nil || got.Pod.ResourceVersion != rv || changes != 1 {
		t.Fatalf("private change: rv %s→%s, %d changes, %v", rv, got.Pod.ResourceVersion, changes, err)
	}
	stored, _ := s.Pods().Get(ctx, "d", "p")
	if stored.Engine.SandboxAttempt != 7 {
		t.Fatal("private change was not stored")
	}
	got, _ = s.Pods().Mutate(ctx, "d", "p", func(r *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		r.Pod.Status.Phase = corev1.PodRunning
		return r, nil
	})
	if got.Pod.ResourceVersion == rv || changes != 2 {
		t.Fatalf("status change: rv %s, %d changes", got.Pod.ResourceVersion, changes)
	}
}

func TestUndecodableObjectIsSkippedInLists(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	_, _ = s.ConfigMaps().Create(ctx, cm("d", "good", "1"))
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(BucketConfigMaps)).Put(Key("d", "bad"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := s.ConfigMaps().List(ctx, "d")
	if err != nil || len(list) != 1 || list[0].Name != "good" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if _, err := s.ConfigMaps().Get(ctx, "d", "bad"); err == nil {
		t.Fatal("Get of an undecodable object succeeded")
	}
}

// The total cap drops the least recently seen events across all objects,
// trimming to 90 % of it; the per-object cap counts only the object's own
// UID, so a replaced pod of the same name does not evict the new one's.
func TestEventsTotalCapAndReplacedPods(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.EventsPerPod, s.EventsTotal = 4, 10
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(pod, uid, reason string) *corev1.Event {
		return &corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "d", Name: pod, UID: types.UID(uid)},
			Reason:         reason, Message: "m", Type: corev1.EventTypeNormal,
		}
	}
	at := 0
	record := func(e *corev1.Event) {
		at++
		if _, err := s.RecordEvent(ctx, e, t0.Add(time.Duration(at)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// The old pod "p" (uid old) has 4 events; the new "p" (uid new) adds 4 more:
	// the per-pod cap must not evict across UIDs.
	for _, r := range []string{"A", "B", "C", "D"} {
		record(ev("p", "old", r))
	}
	for _, r := range []string{"A", "B", "C", "D"} {
		record(ev("p", "new", r))
	}
	list, _, _ := s.Events().List(ctx, "d")
	if len(list) != 8 {
		t.Fatalf("kept %d events, want 8 (4 per UID)", len(list))
	}
	// Three more objects' events push the total over 10: trimmed to 9, the
	// oldest (the old pod's) first.
	for _, p := range []string{"q", "r", "s"} {
		record(ev(p, p, "X"))
	}
	list, _, _ = s.Events().List(ctx, "d")
	if len(list) != 9 {
		t.Fatalf("kept %d events, want 9 after trimming to 90%% of 10", len(list))
	}
	for _, e := range list {
		if e.InvolvedObject.UID == "old" && (e.Reason == "A" || e.Reason == "B") {
			t.Fatalf("oldest event %s/%s kept", e.InvolvedObject.UID, e.Reason)
		}
	}
}

// TestStoreFilePrivate: the store holds Secrets; one left world-readable
// is made 0600 again when opened.
func TestStoreFilePrivate(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	_ = s.Close()
	path := filepath.Join(dir, FileName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestDeleteCheckedDecidesInTheTransaction: the check sees the stored
// object and a refusal deletes nothing; the same check passing deletes.
func TestDeleteCheckedDecidesInTheTransaction(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	c := s.ConfigMaps()
	if _, err := c.Create(ctx, cm("default", "a", "1")); err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("precondition")
	var seen string
	_, err := c.DeleteChecked(ctx, "default", "a", func(stored *corev1.ConfigMap) error {
		seen = stored.Data["k"]
		return refuse
	})
	if !errors.Is(err, refuse) || seen != "1" {
		t.Fatalf("refused delete: %v (saw %q)", err, seen)
	}
	if _, err := c.Get(ctx, "default", "a"); err != nil {
		t.Fatalf("a refused delete removed the object: %v", err)
	}
	gone, err := c.DeleteChecked(ctx, "default", "a", func(*corev1.ConfigMap) error { return nil })
	if err != nil || gone.Name != "a" {
		t.Fatalf("delete: %v %v", gone, err)
	}
	if _, err := c.DeleteChecked(ctx, "default", "a", func(*corev1.ConfigMap) error { return nil }); !apierrors.IsNotFound(err) {
		t.Fatalf("delete of a missing object: %v, want NotFound", err)
	}
}
