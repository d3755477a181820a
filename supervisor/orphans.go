package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// orphanStopGrace is what an orphan's containers get between their stop
// signal and SIGKILL: the kubelet's minimum grace period, which it also
// uses for a running pod whose spec it no longer has.
const orphanStopGrace = 2 * time.Second

// orphanSweepParallelism bounds how many orphaned pods are torn down at
// once (each stop may take the whole grace).
const orphanSweepParallelism = 4

// orphan is a pod the store no longer names, with what is left of it.
type orphan struct {
	ref        PodRef
	containers []RuntimeContainer
}

// orphanedPods picks, from the runtime's containers and the pods with
// leftovers on the host, the pods that known does not name (the store lost
// them: moved aside as corrupt, or podrund died between removing a record
// and the teardown). Sorted by UID, containers by ID, so the sweep is
// deterministic.
func orphanedPods(listed []RuntimeContainer, leftovers []PodRef, known map[types.UID]bool) []orphan {
	byUID := map[types.UID]*orphan{}
	get := func(ref PodRef) *orphan {
		o := byUID[ref.UID]
		if o == nil {
			o = &orphan{ref: PodRef{UID: ref.UID}}
			byUID[ref.UID] = o
		}
		if o.ref.Name == "" && ref.Name != "" {
			o.ref.Namespace, o.ref.Name = ref.Namespace, ref.Name
		}
		return o
	}
	for _, c := range listed {
		uid := types.UID(c.PodUID)
		if uid == "" || known[uid] {
			continue
		}
		o := get(PodRef{UID: uid, Namespace: c.PodNamespace, Name: c.PodName})
		o.containers = append(o.containers, c)
	}
	for _, ref := range leftovers {
		if ref.UID != "" && !known[ref.UID] {
			get(ref)
		}
	}
	out := make([]orphan, 0, len(byUID))
	for _, o := range byUID {
		sort.Slice(o.containers, func(i, j int) bool { return o.containers[i].ID < o.containers[j].ID })
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ref.UID < out[j].ref.UID })
	return out
}

// SweepOrphans stops and removes what the host holds of pods that known
// (every pod in the store, pending replacements included) does not name:
// their containers (stop signal, orphanStopGrace, SIGKILL, then removal),
// sandbox, volumes, pod directory, cgroup and logs. The kubelet does the
// same with pods running that it no longer wants (its pod cleanups);
// without it such a pod would run on unseen and unmanageable through the
// API, holding its ports, files and memory. It returns the swept pods.
// Run it before the stored pods are adopted: nothing else then creates or
// removes containers.
func (m *Manager) SweepOrphans(ctx context.Context, known map[types.UID]bool) ([]PodRef, error) {
	listed, err := m.rt.ListContainers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers for the orphan sweep: %w", err)
	}
	leftovers, err := m.rt.PodLeftovers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pod leftovers for the orphan sweep: %w", err)
	}
	orphans := orphanedPods(listed, leftovers, known)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		gate = make(chan struct{}, orphanSweepParallelism)
	)
	for _, o := range orphans {
		wg.Add(1)
		gate <- struct{}{}
		go func() {
			defer func() { <-gate; wg.Done() }()
			if err := m.removeOrphan(ctx, o); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	swept := make([]PodRef, 0, len(orphans))
	for _, o := range orphans {
		swept = append(swept, o.ref)
	}
	return swept, errors.Join(errs...)
}

// removeOrphan tears one orphaned pod down: every container stopped at
// once (without the spec there is no order to keep), then removed, then
// the pod's other leftovers.
func (m *Manager) removeOrphan(ctx context.Context, o orphan) error {
	log := m.log.With(zap.String("pod", o.ref.String()), zap.String("uid", string(o.ref.UID)))
	var wg sync.WaitGroup
	stopErrs := make([]error, len(o.containers))
	for i, c := range o.containers {
		if c.State != InstanceRunning {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopErrs[i] = m.rt.StopContainer(ctx, c.ID, 0, orphanStopGrace)
		}()
	}
	wg.Wait()
	var errs []error
	for i, c := range o.containers {
		if stopErrs[i] != nil {
			errs = append(errs, fmt.Errorf("stop container %s of orphaned pod %s: %w", c.Container, o.ref, stopErrs[i]))
		}
		if err := m.rt.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s of orphaned pod %s: %w", c.Container, o.ref, err))
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: o.ref.UID, Namespace: o.ref.Namespace, Name: o.ref.Name}}
	if err := m.rt.RemoveSandbox(ctx, pod); err != nil {
		errs = append(errs, fmt.Errorf("remove sandbox of orphaned pod %s: %w", o.ref, err))
	}
	if o.ref.Name != "" {
		if err := m.rt.RemovePodLogs(pod); err != nil {
			errs = append(errs, fmt.Errorf("remove logs of orphaned pod %s: %w", o.ref, err))
		}
	}
	names := make([]string, 0, len(o.containers))
	for _, c := range o.containers {
		names = append(names, c.Container)
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("orphaned pod not fully removed", zap.Strings("containers", names), zap.Error(err))
		return err
	}
	log.Warn("removed a pod the store does not name (orphan): its containers were stopped and removed with its sandbox, volumes and logs",
		zap.Strings("containers", names))
	return nil
}
