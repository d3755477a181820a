package containerd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/remotes/docker/config"
	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/podrun/podrun/supervisor"
)

// PullImage pulls ref for this host's platform and unpacks it. Registries
// on localhost / 127.0.0.1 may be plain HTTP; credentials come from the
// docker config.json. progress (may be nil) receives bytes done/total about
// twice a second. Failures are *StartError ErrImagePull.
func (r *Runtime) PullImage(ctx context.Context, ref string, progress supervisor.PullProgress) (supervisor.ImageStatus, error) {
	ctx = r.nsCtx(ctx)
	name, err := NormaliseRef(ref)
	if err != nil {
		return supervisor.ImageStatus{}, &supervisor.StartError{Reason: "InvalidImageName",
			Message: fmt.Sprintf("Failed to apply default image tag %q: %v", ref, err)}
	}
	creds := r.credentials()
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: config.ConfigureHosts(ctx, config.HostOptions{Credentials: creds}),
	})
	tr := &pullTracker{cs: r.client.ContentStore()}
	stop := tr.report(ctx, progress)
	img, err := r.client.Pull(ctx, name,
		containerd.WithResolver(resolver),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(r.snapshotter),
		containerd.WithImageHandler(images.HandlerFunc(tr.handle)),
	)
	stop()
	if err != nil {
		return supervisor.ImageStatus{}, &supervisor.StartError{Reason: "ErrImagePull",
			Message: fmt.Sprintf("failed to pull and unpack image %q", name), Err: err}
	}
	return r.statusOf(ctx, img)
}

// credentials reads the docker config.json on every pull so new logins
// apply without a restart.
func (r *Runtime) credentials() func(host string) (string, string, error) {
	path := r.opts.DockerConfig
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".docker", "config.json")
	}
	return func(host string) (string, string, error) {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", "", nil
		}
		if err != nil {
			return "", "", fmt.Errorf("read registry credentials %s: %w", path, err)
		}
		return lookupAuth(data, host)
	}
}

type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// lookupAuth finds host's credentials in a docker config.json; Docker Hub
// is stored under its legacy index address.
func lookupAuth(data []byte, host string) (string, string, error) {
	var cfg struct {
		Auths map[string]dockerAuth `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", "", fmt.Errorf("parse docker config.json: %w", err)
	}
	keys := []string{host, "https://" + host, "http://" + host}
	if host == "registry-1.docker.io" || host == "docker.io" {
		keys = append(keys, "https://index.docker.io/v1/", "index.docker.io", "docker.io")
	}
	for _, k := range keys {
		a, ok := cfg.Auths[k]
		if !ok {
			continue
		}
		if a.IdentityToken != "" {
			return "", a.IdentityToken, nil
		}
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return "", "", fmt.Errorf("decode auth of %s in docker config.json: %w", k, err)
			}
			user, pass, _ := strings.Cut(string(dec), ":")
			return user, pass, nil
		}
		return a.Username, a.Password, nil
	}
	return "", "", nil
}

// pullTracker adds up the sizes of the blobs a pull fetches and how much of
// them is in the content store.
type pullTracker struct {
	cs    content.Store
	mu    sync.Mutex
	descs []ocispec.Descriptor
}

func (t *pullTracker) handle(_ context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	t.mu.Lock()
	t.descs = append(t.descs, desc)
	t.mu.Unlock()
	return nil, nil
}

func (t *pullTracker) report(ctx context.Context, progress supervisor.PullProgress) (stop func()) {
	if progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				progress(t.bytes(ctx))
				return
			case <-tick.C:
				progress(t.bytes(ctx))
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (t *pullTracker) bytes(ctx context.Context) (done, total int64) {
	t.mu.Lock()
	descs := append([]ocispec.Descriptor(nil), t.descs...)
	t.mu.Unlock()
	// Progress is advisory: without ingest statuses only finished blobs count.
	active, _ := t.cs.ListStatuses(ctx)
	for _, d := range descs {
		total += d.Size
		if _, err := t.cs.Info(ctx, d.Digest); err == nil {
			done += d.Size
			continue
		} else if !errdefs.IsNotFound(err) {
			continue
		}
		for _, s := range active {
			if strings.Contains(s.Ref, d.Digest.Encoded()) {
				done += s.Offset
			}
		}
	}
	return done, total
}
