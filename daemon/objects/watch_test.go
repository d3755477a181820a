package objects

import (
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
