package objects

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// slowHooks blocks on the first Job it hears of until released, and
// counts resyncs.
type slowHooks struct {
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	resyncs int
	jobs    int
}

func (h *slowHooks) CronJobApplied(*batchv1.CronJob) {}
func (h *slowHooks) CronJobDeleted(*batchv1.CronJob) {}
func (h *slowHooks) JobChanged(*batchv1.Job) {
	h.once.Do(func() { <-h.release })
	h.mu.Lock()
	h.jobs++
	h.mu.Unlock()
}
func (h *slowHooks) Resync(context.Context) {
	h.mu.Lock()
	h.resyncs++
	h.mu.Unlock()
}

func (h *slowHooks) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resyncs, h.jobs
}

// A CronJob feed that falls behind a burst of Job writes is dropped by
// the watch hub, as any slow watcher is; it must come back and resync,
// or the controller would miss Jobs finishing for good.
func TestCronJobFeedResyncsAfterFallingBehind(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := New(Options{Store: st, WatchBuffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	hooks := &slowHooks{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.FeedCronJobs(ctx, hooks); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { r, _ := hooks.counts(); return r == 1 })
	for i := 0; i < 10; i++ {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("j%d", i), UID: types.UID(fmt.Sprint(i))}}
		if _, err := st.Jobs().Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	close(hooks.release)
	waitFor(t, func() bool { r, _ := hooks.counts(); return r == 2 })
	// The new subscription hears later writes.
	_, before := hooks.counts()
	if _, err := st.Jobs().Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "late"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, n := hooks.counts(); return n > before })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatal("condition not met within 5s")
	}
}
