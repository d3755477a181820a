package objects

import (
	"strconv"
	"testing"

	"github.com/podrun/podrun/daemon/store"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

func TestSlowWatcherIsDropped(t *testing.T) {
	h := newHub(2, 0, 0, nil)
	sub, _ := h.subscribe(Filter{bucket: store.BucketPods, labels: labels.Everything(), fields: fields.Everything()}, 0, false)
	for i := 0; i < 5; i++ {
		h.publish(store.Change{Bucket: "pods", Type: Added, Object: &corev1.Pod{}, RV: uint64(i + 1)})
	}
	n := 0
	for range sub.Changes() {
		n++
	}
	if n != 2 {
		t.Fatalf("slow watcher got %d events before being dropped, want its buffer of 2", n)
	}
	h.unsubscribe(sub) // dropping twice is harmless
}

// A MODIFIED change's Prev is a fresh decode of the state the object's
// previous change in history already holds; history keeps one copy. A
// Prev whose state is not the object's newest in history (evicted, or
// another version) is kept as it came.
func TestHistorySharesPrevWithThePreviousChange(t *testing.T) {
	pod := func(name string, rv uint64) *corev1.Pod {
		p := &corev1.Pod{}
		p.Namespace, p.Name, p.ResourceVersion = "ns", name, strconv.FormatUint(rv, 10)
		return p
	}
	change := func(typ, name string, rv, prevRV uint64) store.Change {
		c := store.Change{Bucket: store.BucketPods, Type: typ, Object: pod(name, rv), RV: rv}
		if prevRV != 0 {
			c.Prev = pod(name, prevRV)
		}
		return c
	}
	h := newHub(4, 2, 0, nil)
	h.publish(change(Added, "a", 1, 0))
	h.publish(change(Modified, "a", 2, 1))
	if h.history[1].Prev != h.history[0].Object {
		t.Fatal("the MODIFIED change keeps its own copy of the state the ADDED one holds")
	}
	h.publish(change(Modified, "b", 3, 0))
	h.publish(change(Modified, "b", 4, 3)) // b's state 3 is its newest in history; a's changes are evicted
	if h.history[1].Prev != h.history[0].Object {
		t.Fatal("b's Prev is not shared with its previous change")
	}
	if _, ok := h.newest[historyKey{store.BucketPods, "ns", "a"}]; ok {
		t.Fatal("an object whose changes all left history is still remembered")
	}
	for _, c := range []store.Change{
		change(Modified, "a", 5, 2), // a's state 2 left history
		change(Modified, "b", 6, 3), // not b's newest state (4)
	} {
		own := c.Prev
		h.publish(c)
		if got := h.history[len(h.history)-1].Prev; got != own {
			t.Fatalf("change %d: Prev replaced by %v", c.RV, got)
		}
	}
}
