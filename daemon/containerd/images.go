package containerd

import (
	"context"
	"fmt"
	"sort"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"go.uber.org/zap"

	"github.com/podrun/podrun/supervisor"
)

// NormaliseRef turns a Kubernetes image name into containerd's full name:
// busybox:1.28 → docker.io/library/busybox:1.28; no tag → :latest.
func NormaliseRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image name %q: %w", ref, err)
	}
	return named.String(), nil
}

// ImageStatus reports whether the image is present locally. An invalid
// name is a *StartError with reason InvalidImageName.
func (r *Runtime) ImageStatus(ctx context.Context, ref string) (supervisor.ImageStatus, error) {
	ctx = r.nsCtx(ctx)
	name, err := NormaliseRef(ref)
	if err != nil {
		return supervisor.ImageStatus{}, &supervisor.StartError{Reason: "InvalidImageName",
			Message: fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err)}
	}
	img, err := r.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		return supervisor.ImageStatus{Ref: name}, nil
	}
	if err != nil {
		return supervisor.ImageStatus{}, fmt.Errorf("get image %s: %w", name, err)
	}
	return r.statusOf(ctx, img)
}

// statusOf describes a containerd image; ID is the config digest, as CRI
// reports image IDs.
func (r *Runtime) statusOf(ctx context.Context, img containerd.Image) (supervisor.ImageStatus, error) {
	info, err := r.imageInfo(ctx, img)
	if err != nil {
		return supervisor.ImageStatus{}, err
	}
	return supervisor.ImageStatus{Present: true, Ref: img.Name(), ID: info.configDigest, Size: info.size}, nil
}

// ListImages lists the images of podrund's namespace, by name.
func (r *Runtime) ListImages(ctx context.Context) ([]supervisor.ImageStatus, error) {
	ctx = r.nsCtx(ctx)
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]supervisor.ImageStatus, 0, len(imgs))
	for _, img := range imgs {
		st, err := r.statusOf(ctx, img)
		if err != nil {
			// An image whose content is partly missing (interrupted pull) is
			// still listed so it can be removed.
			r.log.Debug("image status incomplete", zap.Error(err))
			st = supervisor.ImageStatus{Present: false, Ref: img.Name()}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// RemoveImage deletes an image by name; its content is garbage-collected.
// It returns errdefs.ErrNotFound (wrapped) when there is no such image.
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	ctx = r.nsCtx(ctx)
	name, err := NormaliseRef(ref)
	if err != nil {
		return err
	}
	err = r.client.ImageService().Delete(ctx, name, images.SynchronousDelete())
	r.images.clear() // its snapshots may be gone with it
	if err != nil {
		return fmt.Errorf("remove image %s: %w", name, err)
	}
	return nil
}
