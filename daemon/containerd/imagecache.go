package containerd

import (
	"context"
	"fmt"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultImagePath is containerd's env for an image config without one.
const defaultImagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxCachedImages bounds imageCache; past it the cache starts afresh.
const maxCachedImages = 256

// imageInfo is what a container start needs from an image's content. The
// content is addressed by the image's target digest, so for one digest
// (and podrund's one platform) it never changes: it is read once instead
// of several content reads per container. Only the name → digest mapping
// is looked up for every container (GetImage), so a re-tagged image is
// seen at once.
type imageInfo struct {
	configDigest string // the image ID, as CRI reports it
	config       ocispec.ImageConfig
	size         int64
	chainID      string // the parent of a container's snapshot
	// unpacked: the image's layers were found unpacked in podrund's
	// snapshotter. Snapshots of an existing image are kept by containerd's
	// GC; the flag is dropped when an image is removed or a container
	// creation from it fails.
	unpacked bool
	// user is the process user oci.WithImageConfig made of the image: its
	// config's User resolved in the image's /etc/passwd, and the groups
	// /etc/group lists it in, read from a mount of the container's fresh
	// snapshot (the image's own files). nil until one container was made.
	user *specs.User
}

// imageCache maps target digests to imageInfo; the zero value is ready.
type imageCache struct {
	mu sync.Mutex
	m  map[string]imageInfo
}

func (c *imageCache) get(d string) (imageInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.m[d]
	return info, ok
}

func (c *imageCache) put(d string, info imageInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedImages {
		c.m = map[string]imageInfo{}
	}
	c.m[d] = info
}

// markUnpacked records that the image's snapshots exist.
func (c *imageCache) markUnpacked(d string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if info, ok := c.m[d]; ok {
		info.unpacked = true
		c.m[d] = info
	}
}

// setUser records the image's process user (see imageInfo.user).
func (c *imageCache) setUser(d string, u specs.User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if info, ok := c.m[d]; ok {
		u.AdditionalGids = append([]uint32(nil), u.AdditionalGids...)
		info.user = &u
		c.m[d] = info
	}
}

// forget drops what is known of an image whose container could not be
// created: the next try reads it afresh.
func (c *imageCache) forget(d string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, d)
}

// clear drops everything (an image was removed).
func (c *imageCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// imageInfo reads (once per target digest) the config and size of img.
func (r *Runtime) imageInfo(ctx context.Context, img containerd.Image) (imageInfo, error) {
	key := img.Target().Digest.String()
	if info, ok := r.images.get(key); ok {
		return info, nil
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return imageInfo{}, fmt.Errorf("read config of image %s: %w", img.Name(), err)
	}
	spec, err := img.Spec(ctx)
	if err != nil {
		return imageInfo{}, fmt.Errorf("read image config of %s: %w", img.Name(), err)
	}
	size, err := img.Size(ctx)
	if err != nil {
		return imageInfo{}, fmt.Errorf("size of image %s: %w", img.Name(), err)
	}
	diffIDs, err := img.RootFS(ctx)
	if err != nil {
		return imageInfo{}, fmt.Errorf("layers of image %s: %w", img.Name(), err)
	}
	info := imageInfo{configDigest: cfg.Digest.String(), config: spec.Config, size: size,
		chainID: identity.ChainID(diffIDs).String()}
	r.images.put(key, info)
	return info, nil
}

// withImageConfig is oci.WithImageConfig(img) without its reads: the
// image config from imageInfo and, after the first container of the
// image, the process user it resolved, so later containers need no mount
// of their snapshot to read /etc/passwd and /etc/group. The result is the
// same: the user depends on nothing but the image (it is computed before
// any option that sets a user), env, args and cwd on the config only.
func (r *Runtime) withImageConfig(img containerd.Image) oci.SpecOpts {
	key := img.Target().Digest.String()
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		info, ok := r.images.get(key)
		if !ok || info.user == nil || s.Linux == nil {
			if err := oci.WithImageConfig(img)(ctx, cl, c, s); err != nil {
				return err
			}
			if ok && s.Process != nil && s.Linux != nil {
				r.images.setUser(key, s.Process.User)
			}
			return nil
		}
		cfg := info.config
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		defaults := cfg.Env
		if len(defaults) == 0 {
			defaults = []string{defaultImagePath}
		}
		// As WithImageConfig: the image's env, then what is already set.
		set := s.Process.Env
		s.Process.Env = append([]string(nil), defaults...)
		if err := oci.WithEnv(set)(ctx, cl, c, s); err != nil {
			return err
		}
		s.Process.Args = append(append([]string(nil), cfg.Entrypoint...), cfg.Cmd...)
		s.Process.Cwd = cfg.WorkingDir
		if s.Process.Cwd == "" {
			s.Process.Cwd = "/"
		}
		s.Process.User = *info.user
		s.Process.User.AdditionalGids = append([]uint32(nil), info.user.AdditionalGids...)
		return nil
	}
}

// withNewSnapshot is containerd.WithNewSnapshot(id, img) with the chain ID
// from imageInfo: one Prepare call instead of reading the manifest and
// config and asking for the snapshotter's capabilities per container (the
// capabilities matter only for ID-remapping options, which podrund does
// not pass). A missing parent fails the create, which drops the cache.
func (r *Runtime) withNewSnapshot(id string, img containerd.Image) containerd.NewContainerOpts {
	key := img.Target().Digest.String()
	return func(ctx context.Context, client *containerd.Client, c *containers.Container) error {
		info, ok := r.images.get(key)
		if !ok || info.chainID == "" || c.Snapshotter == "" {
			return containerd.WithNewSnapshot(id, img)(ctx, client, c)
		}
		if _, err := client.SnapshotService(c.Snapshotter).Prepare(ctx, id, info.chainID); err != nil {
			return fmt.Errorf("prepare snapshot %s of image %s: %w", id, img.Name(), err)
		}
		c.SnapshotKey = id
		c.Image = img.Name()
		return nil
	}
}
