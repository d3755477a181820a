package containerd

import (
	"context"
	"fmt"
	"strings"
)

// WritableLayer is the directory that holds what instance id wrote to its
// own file system: the upper directory of its overlay snapshot. With the
// native snapshotter the instance's directory holds a copy of the image as
// well, so there is no such directory and "" is returned.
func (r *Runtime) WritableLayer(ctx context.Context, id string) (string, error) {
	ctx = r.nsCtx(ctx)
	mounts, err := r.client.SnapshotService(r.snapshotter).Mounts(ctx, id)
	if err != nil {
		return "", fmt.Errorf("mounts of snapshot %s: %w", id, err)
	}
	for _, m := range mounts {
		if m.Type != "overlay" {
			continue
		}
		for _, o := range m.Options {
			if dir, ok := strings.CutPrefix(o, "upperdir="); ok {
				return dir, nil
			}
		}
	}
	return "", nil
}
