package job

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestRandomHistoriesCountEachCompletionOnce runs random interleavings of
// pod endings, Syncs, controller restarts, lost status writes and users
// deleting counted pods, and checks that every ended pod is counted
// exactly once and no completion beyond spec.completions ever runs.
func TestRandomHistoriesCountEachCompletionOnce(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		h := newHarness(t, newJob(func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](5), ptr.To[int32](2)
			j.Spec.BackoffLimit = ptr.To[int32](1000)
		}))
		succeeded, failed := 0, 0
		var lastPersisted *batchv1.Job
		for step := 0; step < 300 && h.condition(batchv1.JobComplete) == nil; step++ {
			switch rng.IntN(6) {
			case 0, 1: // a pod ends
				active := h.activePods()
				if len(active) == 0 {
					continue
				}
				p := active[rng.IntN(len(active))]
				if rng.IntN(3) == 0 {
					h.finish(p, corev1.PodFailed, nil)
					failed++
				} else {
					h.finish(p, corev1.PodSucceeded, nil)
					succeeded++
				}
			case 2:
				lastPersisted = h.f.job.DeepCopy()
				h.sync()
			case 3: // podrund restart
				h.c = h.newController()
			case 4: // the last status write was lost
				if lastPersisted != nil {
					h.f.job, h.job = lastPersisted, lastPersisted.DeepCopy()
					lastPersisted = nil
				}
			case 5: // the user deletes a pod that the stored status accounts for
				if h.f.job == nil {
					continue
				}
				counted := strings.Split(h.f.job.Annotations[CountedPodsAnnotation], ",")
				for name, p := range h.f.pods {
					if string(p.UID) == counted[0] {
						delete(h.f.pods, name)
						lastPersisted = nil // that status is now the only record
					}
				}
			}
			h.advance(time.Duration(rng.IntN(400)) * time.Second)
		}
		for i := 0; i < 50 && h.condition(batchv1.JobComplete) == nil; i++ {
			for _, p := range h.activePods() {
				h.finish(p, corev1.PodSucceeded, nil)
				succeeded++
			}
			h.advance(7 * time.Minute)
			h.sync()
		}
		s := h.job.Status
		if h.condition(batchv1.JobComplete) == nil || s.Succeeded != 5 || succeeded != 5 || int(s.Failed) != failed {
			t.Fatalf("seed %d: complete %v, status succeeded %d failed %d; pods that succeeded %d, failed %d",
				seed, h.condition(batchv1.JobComplete) != nil, s.Succeeded, s.Failed, succeeded, failed)
		}
	}
}
