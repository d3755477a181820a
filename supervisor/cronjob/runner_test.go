package cronjob

import (
	"context"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Runner syncs at the requeue time the controller asked for, on the
// injected clock: each step of the fake clock to just past a minute
// makes that minute's Job, and nothing runs before.
func TestRunnerFollowsTheClock(t *testing.T) {
	w := newWorld(t, t0)
	w.addCronJob("* * * * *")
	r := NewRunner(w.controller(), w.clk, nil)
	ctx := context.Background()
	r.Resync(ctx)
	r.Drain(ctx)
	w.clk.Step(30 * time.Second)
	r.Drain(ctx)
	if len(w.created) != 0 {
		t.Fatalf("created %v before the requeue delay passed", w.created)
	}
	step := nextScheduleDelta
	for m := 1; m <= 3; m++ {
		w.clk.Step(step)
		step = time.Minute
		r.Drain(ctx)
		if len(w.created) != m {
			t.Fatalf("after %d steps: created %v", m, w.created)
		}
	}
}

// Deleting a CronJob deletes its Jobs; with propagationPolicy Orphan they
// stay, released from it; a Job whose CronJob vanished while podrund was
// down is swept at start (R115).
func TestRunnerDependents(t *testing.T) {
	for _, tc := range []struct {
		name       string
		orphan     bool
		viaResync  bool
		wantJobs   int
		wantOwners int
	}{
		{"background", false, false, 0, 0},
		{"orphan", true, false, 1, 0},
		{"swept at start", false, true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, t0)
			w.addCronJob("* * * * *")
			c := w.controller()
			r := NewRunner(c, w.clk, nil)
			ctx := context.Background()
			w.clk.SetTime(minute(1).Add(time.Second))
			w.sync(c)
			cj := w.cronJob()
			w.mu.Lock()
			delete(w.cjs, "default/cj")
			w.mu.Unlock()
			if tc.orphan {
				cj.Finalizers = []string{metav1.FinalizerOrphanDependents}
			}
			if tc.viaResync {
				r.Resync(ctx)
			} else {
				r.CronJobDeleted(cj)
			}
			r.Drain(ctx)
			jobs, _ := w.ListJobs(ctx, "")
			if len(jobs) != tc.wantJobs {
				t.Fatalf("jobs left: %d, want %d", len(jobs), tc.wantJobs)
			}
			for _, j := range jobs {
				if len(j.OwnerReferences) != tc.wantOwners {
					t.Fatalf("owner references %v", j.OwnerReferences)
				}
			}
		})
	}
}

// A Job's change wakes the CronJob that controls it, and only that one.
func TestRunnerJobChanged(t *testing.T) {
	w := newWorld(t, t0)
	cj := w.addCronJob("* * * * *")
	r := NewRunner(w.controller(), w.clk, nil)
	r.JobChanged(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "other"}})
	j, _ := jobFromTemplate(cj, minute(1))
	r.JobChanged(j)
	if keys, _ := r.takeAll(); !slices.Equal(keys, []key{{"default", "cj"}}) {
		t.Fatalf("pending = %v", keys)
	}
}
