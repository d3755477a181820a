package runtime

import (
	"context"
	"fmt"
	"io"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/podrun/podrun/supervisor"
)

// ImportImage imports an OCI layout or docker-archive tarball for this
// host's platform, keeping the image names recorded in the archive, and
// unpacks every image into the snapshotter so it can run at once.
func (r *Runtime) ImportImage(ctx context.Context, rd io.Reader) ([]supervisor.ImageStatus, error) {
	ctx = r.nsCtx(ctx)
	imgs, err := r.client.Import(ctx, rd,
		containerd.WithImageRefTranslator(archiveRefName),
		containerd.WithAllPlatforms(false),
	)
	if err != nil {
		return nil, fmt.Errorf("import image archive: %w", err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import image archive: the archive names no image " +
			"(OCI layouts need an io.containerd.image.name or a full org.opencontainers.image.ref.name annotation)")
	}
	out := make([]supervisor.ImageStatus, 0, len(imgs))
	for _, i := range imgs {
		img := containerd.NewImage(r.client, i)
		if err := img.Unpack(ctx, r.snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", i.Name, err)
		}
		st, err := r.statusOf(ctx, img)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
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
