// Package containerd is podrun's containerd implementation of
// supervisor.Runtime: images (import, pull, list, remove), container
// instances (snapshot, OCI spec, task), CRI-format logs through a binary
// logger run by the shim, exit/OOM events and exec. It follows containerd's
// client layout: one file per concept.
package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/supervisor"
)

// ObjectSource gives the ConfigMaps and Secrets that env and envFrom refer
// to. It has the method set of volumes.ObjectSource (the store implements
// it); "not found" is an apierrors NotFound error.
type ObjectSource interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// SandboxManager is what the runtime needs of *sandbox.Manager: the pod's
// shared namespaces and the spec options that join a container to them.
type SandboxManager interface {
	Ensure(ctx context.Context, pod *corev1.Pod, attempt int32) (supervisor.Sandbox, error)
	Exists(ctx context.Context, pod *corev1.Pod) (bool, error)
	Remove(ctx context.Context, pod *corev1.Pod) error
	Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error)
	SpecOpts(pod *corev1.Pod) ([]oci.SpecOpts, error)
}

// VolumeManager is what the runtime needs of *volumes.Manager.
type VolumeManager interface {
	Mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]specs.Mount, error)
}

// SecurityOpts builds the security context, resources and cgroup parent
// options of a container; secopts.SpecOpts has this signature.
type SecurityOpts func(pod *corev1.Pod, c *corev1.Container, img ocispec.ImageConfig) ([]oci.SpecOpts, error)

// Options configures a Runtime.
type Options struct {
	Address   string // containerd socket
	Namespace string // containerd namespace podrund owns
	Root      string // podrund --root: logs, pod dirs
	State     string // podrund --state: FIFOs
	Objects   ObjectSource
	Sandboxes SandboxManager // nil: containers get the default namespaces (tests)
	Volumes   VolumeManager  // nil: no volume mounts (tests)
	// Security builds security context and resources; nil: secopts.SpecOpts
	// (pass a secopts.Config's SpecOpts to apply podrund's policy).
	Security SecurityOpts
	Logger   *zap.Logger
	// LogMaxBytes / LogMaxFiles rotate each instance's log; 0 = no rotation.
	LogMaxBytes int64
	LogMaxFiles int
	// LoggerBinary is the executable the shim runs as the log writer with
	// the argv documented at LoggerMain, and podrund as the shared writer
	// (WriterMain); empty: FindLogger's choice.
	LoggerBinary string
	// PerContainerLogWriter has the shim run one log writer per container
	// (binary://) instead of registering the container with the shared
	// writer (crilog.Serve), which is also the fallback when the shared
	// writer cannot be started.
	PerContainerLogWriter bool
	// DockerConfig is the config.json with registry credentials; empty:
	// $HOME/.docker/config.json.
	DockerConfig string
	// Snapshotter forces a containerd snapshotter; empty: overlayfs when
	// it works on this host, else native.
	Snapshotter string
	// ImportBinary, when set, is the podrund executable that imports image
	// archives in a child process (ImportMain); empty: in this process.
	ImportBinary string
	// ShimPerNode runs every container of every pod in one runc shim
	// (config shimGrouping: node) instead of one shim per pod.
	ShimPerNode bool
}

// Runtime implements supervisor.Runtime on containerd.
type Runtime struct {
	client      *containerd.Client
	ns          string
	opts        Options
	log         *zap.Logger
	snapshotter string
	loggerBin   string
	logw        *crilog.Writer // the shared writer's client; nil without State
	sharedLogs  bool           // new containers log through logw
	images      imageCache     // image content facts by target digest

	mu      sync.Mutex
	podUIDs map[string]string      // container ID → pod UID, for events
	created map[string]createdTask // created, not yet started (created.go)
}

var _ supervisor.Runtime = (*Runtime)(nil)

// New connects to containerd at o.Address and checks that it answers.
func New(ctx context.Context, o Options) (*Runtime, error) {
	if o.Namespace == "" {
		return nil, errors.New("runtime: containerd namespace is empty")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Security == nil {
		o.Security = secopts.SpecOpts
	}
	logger, err := loggerBinary(o.LoggerBinary)
	if err != nil {
		return nil, err
	}
	c, err := containerd.New(o.Address, containerd.WithDefaultNamespace(o.Namespace))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", o.Address, err)
	}
	r := &Runtime{client: c, ns: o.Namespace, opts: o, log: o.Logger, loggerBin: logger.Path,
		podUIDs: map[string]string{}}
	ctx = r.nsCtx(ctx)
	if err := r.Ready(ctx); err != nil {
		c.Close()
		return nil, err
	}
	r.snapshotter = o.Snapshotter
	if r.snapshotter == "" {
		r.snapshotter = r.pickSnapshotter(ctx)
	}
	r.log.Info("connected to containerd", zap.String("address", o.Address),
		zap.String("namespace", o.Namespace), zap.String("snapshotter", r.snapshotter), zap.Bool("shimPerNode", o.ShimPerNode))
	r.setUpLogWriter(ctx, logger.Path)
	if logger.Fallback {
		r.log.Warn("container log writer: "+LoggerBinaryName+" not found beside podrund or on PATH, "+
			"using podrund's own cri-logger subcommand (slower container starts, more memory per container)",
			zap.String("path", logger.Path))
	} else {
		r.log.Info("container log writer", zap.String("path", logger.Path), zap.Bool("shared", r.sharedLogs))
	}
	return r, nil
}

// Ready reports whether containerd answers.
func (r *Runtime) Ready(ctx context.Context) error {
	serving, err := r.client.IsServing(r.nsCtx(ctx))
	if err != nil {
		return fmt.Errorf("containerd at %s does not answer: %w", r.opts.Address, err)
	}
	if !serving {
		return fmt.Errorf("containerd at %s is not serving", r.opts.Address)
	}
	return nil
}

// Version returns containerd's version (for GET /version).
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(r.nsCtx(ctx))
	if err != nil {
		return "", fmt.Errorf("containerd version: %w", err)
	}
	return v.Version, nil
}

// Close closes the containerd connection; tasks keep running in their
// shims, and their logs in the shared writer.
func (r *Runtime) Close() error {
	if r.logw != nil {
		r.logw.Close()
	}
	return r.client.Close()
}

// Client gives the containerd client (for tests and diagnostics).
func (r *Runtime) Client() *containerd.Client { return r.client }

func (r *Runtime) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.ns)
}

// pickSnapshotter prefers overlayfs and falls back to native when the
// overlayfs plugin did not load (e.g. the root is on overlayfs itself).
func (r *Runtime) pickSnapshotter(ctx context.Context) string {
	resp, err := r.client.IntrospectionService().Plugins(ctx,
		`type=="io.containerd.snapshotter.v1",id=="overlayfs"`)
	if err == nil {
		for _, p := range resp.Plugins {
			if p.InitErr == nil {
				return "overlayfs"
			}
		}
	}
	r.log.Warn("overlayfs snapshotter unavailable, using native", zap.Error(err))
	return "native"
}

// EnsureSandbox creates the pod's shared namespaces (delegated).
func (r *Runtime) EnsureSandbox(ctx context.Context, pod *corev1.Pod, attempt int32) (supervisor.Sandbox, error) {
	if r.opts.Sandboxes == nil {
		return supervisor.Sandbox{Attempt: attempt}, nil
	}
	return r.opts.Sandboxes.Ensure(ctx, pod, attempt)
}

// SandboxExists reports whether the pod's namespaces still exist.
func (r *Runtime) SandboxExists(ctx context.Context, pod *corev1.Pod) (bool, error) {
	if r.opts.Sandboxes == nil {
		return true, nil
	}
	return r.opts.Sandboxes.Exists(ctx, pod)
}

// RemoveSandbox tears the pod's namespaces down, after removing any
// container of the pod that the engine did not know of (removeStrays).
func (r *Runtime) RemoveSandbox(ctx context.Context, pod *corev1.Pod) error {
	// A failure to list or remove strays (containerd unreachable) must not
	// keep the sandbox's own parts, which need no containerd, from going.
	strays := r.removeStrays(ctx, pod)
	if r.opts.Sandboxes == nil {
		return strays
	}
	return errors.Join(strays, r.opts.Sandboxes.Remove(ctx, pod))
}

// Dial connects from inside the pod's network namespace.
func (r *Runtime) Dial(ctx context.Context, pod *corev1.Pod, network, address string) (net.Conn, error) {
	if r.opts.Sandboxes == nil {
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	return r.opts.Sandboxes.Dial(ctx, pod, network, address)
}

// podDir is <root>/pods/<uid>.
func (r *Runtime) podDir(pod *corev1.Pod) string {
	return filepath.Join(r.opts.Root, "pods", string(pod.UID))
}
