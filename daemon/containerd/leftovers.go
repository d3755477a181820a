package containerd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/containerd/containerd/v2/core/snapshots"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/supervisor"
)

// instanceIDShape is what newInstanceID makes; the snapshot of an instance
// is keyed by its ID. Nothing else in the namespace has this shape.
var instanceIDShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// PodLeftovers lists the pods that have something left on the host besides
// containers: a sandbox (<state>/sandboxes/<uid>), a pod directory
// (<root>/pods/<uid>: volumes, /etc files, termination logs) or logs
// (<root>/logs/<ns>_<name>_<uid>, which also give the pod's name).
func (r *Runtime) PodLeftovers(ctx context.Context) ([]supervisor.PodRef, error) {
	refs := map[types.UID]*supervisor.PodRef{}
	add := func(ref supervisor.PodRef) {
		if cur := refs[ref.UID]; cur != nil {
			if cur.Name == "" {
				cur.Namespace, cur.Name = ref.Namespace, ref.Name
			}
			return
		}
		refs[ref.UID] = &ref
	}
	for _, dir := range []string{filepath.Join(r.opts.State, "sandboxes"), filepath.Join(r.opts.Root, "pods")} {
		names, err := dirNames(dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			add(supervisor.PodRef{UID: types.UID(n)})
		}
	}
	names, err := dirNames(crilog.Dir(r.opts.Root))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		p, ok := crilog.ParsePodDir(n)
		if !ok {
			r.log.Warn("unexpected entry in the logs directory; left alone", zap.String("name", n))
			continue
		}
		add(supervisor.PodRef{UID: types.UID(p.UID), Namespace: p.Namespace, Name: p.Name})
	}
	out := make([]supervisor.PodRef, 0, len(refs))
	for _, ref := range refs {
		out = append(out, *ref)
	}
	return out, nil
}

// dirNames lists the subdirectories of dir; a missing dir has none.
func dirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// RemoveOrphanSnapshots removes the active snapshots in podrund's
// snapshotter whose key has the shape of an instance ID and that no
// container uses. A podrund killed between preparing an instance's
// snapshot and creating its container leaves one behind, and the lease
// the containerd client took for the create keeps the garbage collector
// off it for a day. Call it before the engine creates anything: an
// instance being created has its snapshot before its container.
func (r *Runtime) RemoveOrphanSnapshots(ctx context.Context) ([]string, error) {
	ctx = r.nsCtx(ctx)
	conts, err := r.client.ContainerService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	used := map[string]bool{}
	for _, c := range conts {
		used[c.SnapshotKey] = true
	}
	sn := r.client.SnapshotService(r.snapshotter)
	var orphans []string
	err = sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive && instanceIDShape.MatchString(info.Name) && !used[info.Name] {
			orphans = append(orphans, info.Name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk snapshots of %s: %w", r.snapshotter, err)
	}
	var removed []string
	var errs []error
	for _, key := range orphans {
		if err := sn.Remove(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("remove orphan snapshot %s: %w", key, err))
			continue
		}
		removed = append(removed, key)
		r.log.Warn("removed a snapshot no container uses (left by a create cut short)", zap.String("snapshot", key))
	}
	return removed, errors.Join(errs...)
}
