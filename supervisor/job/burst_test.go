package job

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"
)

// A parallelism: 10000 Job gets its pods 500 per Sync (burstReplicas),
// not all in one, and every later Sync adds the next 500.
func TestPodCreationBurstCappedPerSync(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Parallelism, j.Spec.Completions = ptr.To[int32](10000), ptr.To[int32](10000)
	}))
	for sync := 1; sync <= 3; sync++ {
		h.sync()
		if want := sync * maxPodCreatesPerSync; h.f.creates != want {
			t.Fatalf("after sync %d: %d pods created, want %d", sync, h.f.creates, want)
		}
	}
	if h.job.Status.Active != 3*maxPodCreatesPerSync {
		t.Fatalf("status active %d", h.job.Status.Active)
	}
}

// An Indexed Job is capped the same way, lowest indexes first.
func TestIndexedPodCreationBurstCappedPerSync(t *testing.T) {
	h := newHarness(t, indexedJob(1200, 1200, nil))
	h.sync()
	if h.f.creates != maxPodCreatesPerSync {
		t.Fatalf("first sync created %d pods, want %d", h.f.creates, maxPodCreatesPerSync)
	}
	for _, p := range h.f.pods {
		if i := podIndex(p); i < 0 || i >= maxPodCreatesPerSync {
			t.Fatalf("pod %s has index %d: the lowest indexes come first", p.Name, i)
		}
	}
	h.sync()
	h.sync()
	if h.f.creates != 1200 {
		t.Fatalf("after three syncs %d pods, want 1200", h.f.creates)
	}
}

// Slow start: creations go in batches of 1, 2, 4, ...; a batch with a
// failure is finished and the Sync stops there. A Job whose pods are all
// refused costs one call per Sync, not parallelism calls.
func TestPodCreationSlowStart(t *testing.T) {
	refused := errors.New("refused by policy")
	for _, tc := range []struct {
		name      string
		failFrom  int // the first failing call
		wantCalls int
		wantPods  int
	}{
		{"all refused", 1, 1, 0},
		{"second batch fails", 2, 3, 1},       // batches 1 | 2
		{"third batch fails midway", 5, 7, 4}, // 1 | 2 | 4 (calls 4..7, from 5 failing)
		{"no failure", 1 << 30, 100, 100},     // 1 2 4 8 16 32 37
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newJob(func(j *batchv1.Job) {
				j.Spec.Parallelism, j.Spec.Completions = ptr.To[int32](100), ptr.To[int32](100)
			}))
			h.f.createFails = func(n int) error {
				if n >= tc.failFrom {
					return refused
				}
				return nil
			}
			_, err := h.c.Sync(t.Context(), h.job, h.now)
			if h.f.createCalls != tc.wantCalls || h.f.creates != tc.wantPods {
				t.Fatalf("%d create calls, %d pods; want %d calls, %d pods", h.f.createCalls, h.f.creates, tc.wantCalls, tc.wantPods)
			}
			if (tc.wantPods < 100) != (err != nil) || (err != nil && !errors.Is(err, refused)) {
				t.Fatalf("sync error %v", err)
			}
			failed := 0
			for _, e := range h.f.events {
				if strings.Contains(e, "FailedCreate") {
					failed++
				}
			}
			if failed != tc.wantCalls-tc.wantPods {
				t.Fatalf("%d FailedCreate events for %d failed calls", failed, tc.wantCalls-tc.wantPods)
			}
		})
	}
}

func TestSlowStartBatchSizes(t *testing.T) {
	var calls []int
	ok, err := slowStartBatch(500, 1, func(i int) error { calls = append(calls, i); return nil })
	if ok != 500 || err != nil || len(calls) != 500 || calls[499] != 499 {
		t.Fatalf("500 calls: ok %d, err %v, made %d", ok, err, len(calls))
	}
	made := 0
	ok, err = slowStartBatch(20, 1, func(i int) error {
		made++
		if i == 9 {
			return fmt.Errorf("call %d failed", i)
		}
		return nil
	})
	// Batches 1, 2, 4 succeed (7 calls); the batch of 8 (calls 7..14)
	// has a failure and is the last.
	if ok != 14 || err == nil || made != 15 {
		t.Fatalf("ok %d, err %v, calls made %d; want 14 ok of 15 calls", ok, err, made)
	}
	if n, _ := slowStartBatch(0, 1, func(int) error { t.Fatal("called for count 0"); return nil }); n != 0 {
		t.Fatalf("count 0: %d", n)
	}
}

// Options.MaxPodCreatesPerSync sets the cap (podrund's
// limits.maxJobPodCreatesPerSync).
func TestPodCreationBurstOption(t *testing.T) {
	h := newHarness(t, newJob(func(j *batchv1.Job) {
		j.Spec.Parallelism, j.Spec.Completions = ptr.To[int32](10), ptr.To[int32](10)
	}))
	h.c = NewController(Options{Pods: h.f, Jobs: h.f, Events: h.f, MaxPodCreatesPerSync: 3})
	for _, want := range []int{3, 6, 9, 10, 10} {
		h.sync()
		if h.f.creates != want {
			t.Fatalf("%d pods created, want %d", h.f.creates, want)
		}
	}
}
