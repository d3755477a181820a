package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"
)

// orphanSweepTimeout bounds the boot-time sweep; each orphan's containers
// get 2 s to stop, and orphans are torn down four at a time.
const orphanSweepTimeout = time.Minute

// sweepOrphans clears, before the stored pods are adopted, what earlier
// podrunds left that no stored pod owns: snapshots of creates cut short,
// then the containers, sandboxes, volumes and logs of pods the store does
// not name (a store moved aside as corrupt, a crash between removing a
// record and the teardown). It runs before adoption so that nothing is
// being created meanwhile. Failures are logged, never fatal: a leftover
// must not keep the stored pods from running.
func (d *daemon) sweepOrphans(ctx context.Context) {
	// Bounded: an unreachable containerd must not hold the adoption back.
	ctx, cancel := context.WithTimeout(ctx, orphanSweepTimeout)
	defer cancel()
	if removed, err := d.rt.RemoveOrphanSnapshots(ctx); err != nil {
		d.log.Error("orphan snapshot sweep", zap.Strings("removed", removed), zap.Error(err))
	}
	known, err := d.storedPodUIDs(ctx)
	if err != nil {
		d.log.Error("orphan sweep skipped: cannot list stored pods", zap.Error(err))
		return
	}
	swept, err := d.mgr.SweepOrphans(ctx, known)
	if err != nil {
		d.log.Error("orphan sweep", zap.Error(err))
	}
	if len(swept) > 0 {
		d.log.Warn("removed pods the store does not name", zap.Int("pods", len(swept)), zap.Stringers("swept", swept))
	}
}

// storedPodUIDs are the UIDs of every stored pod, pending replacements too.
func (d *daemon) storedPodUIDs(ctx context.Context) (map[types.UID]bool, error) {
	known := map[types.UID]bool{}
	recs, _, err := d.st.Pods().List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list stored pods: %w", err)
	}
	for _, r := range recs {
		known[r.Pod.UID] = true
	}
	pending, _, err := d.st.PendingPods().List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list pending pods: %w", err)
	}
	for _, p := range pending {
		known[p.UID] = true
	}
	return known, nil
}
