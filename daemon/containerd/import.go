package containerd

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/podrun/podrun/supervisor"
)

// ImportImage imports an OCI layout or docker-archive tarball for this
// host's platform, keeping the image names recorded in the archive, and
// unpacks every image into the snapshotter so it can run at once.
func (r *Runtime) ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	if r.opts.ImportBinary != "" {
		return r.importInChild(ctx, rd)
	}
	ctx = r.nsCtx(ctx)
	imgs, err := importArchive(ctx, r.client, r.snapshotter, rd)
	if err != nil {
		return nil, err
	}
	out := make([]supervisor.ImageStatus, 0, len(imgs))
	for _, img := range imgs {
		st, err := r.statusOf(ctx, img)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// importArchive imports and unpacks the archive (ImportImage's work, in
// podrund or in the import child).
func importArchive(ctx context.Context, client *containerd.Client, snapshotter string, rd io.Reader) ([]containerd.Image, error) {
	imgs, err := client.Import(ctx, rd,
		containerd.WithImageRefTranslator(archiveRefName),
		containerd.WithAllPlatforms(false),
	)
	if err != nil {
		if archiveFault(err) {
			err = fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
		}
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import image archive: the archive names no image "+
			"(OCI layouts need an io.containerd.image.name or a full org.opencontainers.image.ref.name annotation): %w",
			errdefs.ErrInvalidArgument)
	}
	out := make([]containerd.Image, 0, len(imgs))
	for _, i := range imgs {
		img := containerd.NewImage(client, i)
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", i.Name, err)
		}
		out = append(out, img)
	}
	return out, nil
}

// archiveFault tells whether an import failed on what the archive holds
// (not a tar, cut short, no image format containerd knows) rather than on
// the host, so that the client is told its request was bad.
func archiveFault(err error) bool {
	return errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errdefs.IsNotImplemented(err) || strings.Contains(err.Error(), "unrecognized image format")
}

// archiveRefName names an image of an OCI layout from its
// org.opencontainers.image.ref.name annotation when that is a full image
// reference (busybox:1.28, registry/x/y:tag); a bare tag ("1.28") names
// nothing because the repository is unknown. docker-archive names
// (RepoTags) are normalised by containerd's importer itself.
func archiveRefName(name string) string {
	if !strings.ContainsAny(name, ":/@") {
		return ""
	}
	full, err := NormaliseRef(name)
	if err != nil {
		return ""
	}
	return full
}
