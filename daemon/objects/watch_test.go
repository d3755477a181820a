package objects

import (
	"testing"

	"github.com/podrun/podrun/daemon/store"
)

func TestSlowWatcherIsDropped(t *testing.T) {
	h := newHub(2, nil)
	sub := h.subscribe(func(c store.Change) bool { return true })
	for i := 0; i < 5; i++ {
		h.publish(store.Change{Bucket: "pods", RV: uint64(i + 1)})
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
