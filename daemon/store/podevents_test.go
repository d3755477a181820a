package store

import (
	"context"
	"testing"
	"time"

	"github.com/podrun/podrun/supervisor"
	bolt "go.etcd.io/bbolt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lastTxID is the id of the store's last committed write transaction.
func lastTxID(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSavePodWithEventsIsOneTransaction: a sync's status and its events
// cost one commit (one fsync on the device's flash), and the events of a
// pod that is gone are kept.
func TestSavePodWithEventsIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "d", Name: "p", UID: "u"}}
	if _, err := s.Pods().Create(ctx, &supervisor.PodRecord{Pod: pod}); err != nil {
		t.Fatal(err)
	}
	event := func(reason string) *corev1.Event {
		return &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "d", Name: "p", UID: "u"},
			Reason: reason, Type: corev1.EventTypeNormal, Message: reason}
	}
	before := lastTxID(t, s)
	err := s.SavePodWithEvents(ctx, "d", "p", func(cur *supervisor.PodRecord) (*supervisor.PodRecord, error) {
		cur.Pod.Status.Phase = corev1.PodRunning
		return cur, nil
	}, []*corev1.Event{event("Created"), event("Started"), event("Killing")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if after := lastTxID(t, s); after != before+1 {
		t.Errorf("status and 3 events took %d transactions, want 1", after-before)
	}
	rec, err := s.Pods().Get(ctx, "d", "p")
	if err != nil || rec.Pod.Status.Phase != corev1.PodRunning {
		t.Fatalf("pod after save: %v %v", rec, err)
	}
	list, _, err := s.Events().List(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d events stored, want 3", len(list))
	}

	err = s.SavePodWithEvents(ctx, "d", "p", func(*supervisor.PodRecord) (*supervisor.PodRecord, error) {
		return nil, ErrPodGone
	}, []*corev1.Event{event("Pulled")}, time.Now())
	if err != nil {
		t.Fatalf("a gone pod's save: %v", err)
	}
	if err := s.SavePodWithEvents(ctx, "d", "missing", nil, []*corev1.Event{event("BackOff")}, time.Now()); err != nil {
		t.Fatalf("a missing pod's save: %v", err)
	}
	if list, _, _ = s.Events().List(ctx, "d"); len(list) != 5 {
		t.Errorf("%d events after the gone pod's saves, want 5", len(list))
	}
}
