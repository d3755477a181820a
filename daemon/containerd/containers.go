package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/daemon/safeopen"
	"github.com/podrun/podrun/daemon/secopts"
	"github.com/podrun/podrun/supervisor"
)

// Labels on every containerd container podrund creates. The first six are
// the team contract; the io.podrun.instance.* ones are this package's own
// bookkeeping so an instance can be stopped, reaped and listed after a
// podrund restart without any other state.
const (
	labelPodUID        = "io.podrun.pod.uid"
	labelPodNamespace  = "io.podrun.pod.namespace"
	labelPodName       = "io.podrun.pod.name"
	labelContainerName = "io.podrun.container.name"
	labelAttempt       = "io.podrun.container.attempt"
	labelSandbox       = "io.podrun.sandbox.attempt"

	labelLogPath    = "io.podrun.instance.log-path"
	labelTermLog    = "io.podrun.instance.termination-log"
	labelTermPolicy = "io.podrun.instance.termination-policy"
	labelStopSignal = "io.podrun.instance.stop-signal"
	labelStartedAt  = "io.podrun.instance.started-at" // read only: earlier versions set it (now startedAtFile)
	labelOOMKilled  = "io.podrun.instance.oom-killed"
	labelTTY        = "io.podrun.instance.tty"
)

// failedCreateCleanupTimeout bounds the removal of a half-created
// container, which runs even when the caller's context is done.
const failedCreateCleanupTimeout = 30 * time.Second

// createTimeout bounds creating a container and its task (shim start
// included) on a heavily loaded host.
const createTimeout = 2 * time.Minute

// newInstanceID is 32 random hex characters.
func newInstanceID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate container ID: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// CreateContainer prepares an instance: resolved env, OCI spec, a fresh
// writable snapshot and a created task whose process waits to be started.
func (r *Runtime) CreateContainer(ctx context.Context, req supervisor.CreateRequest) (supervisor.Instance, error) {
	ctx = r.nsCtx(ctx)
	pod, c := req.Pod, req.Container
	log := r.log.With(zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("container", c.Name))
	img, imgCfg, err := r.runnableImage(ctx, req)
	if err != nil {
		return supervisor.Instance{}, err
	}
	id, err := newInstanceID()
	if err != nil {
		return supervisor.Instance{}, createError(err)
	}
	inst := supervisor.Instance{ID: id, Container: c.Name, Attempt: req.Attempt,
		SandboxAttempt: req.Sandbox.Attempt, Image: c.Image, ImageRef: img.Name(),
		SpecHash: specHash(c), State: supervisor.InstanceCreated, CreatedAt: time.Now()}
	if info, err := r.imageInfo(ctx, img); err == nil {
		inst.ImageID = info.configDigest
	}
	if inst.StopSignal, err = stopSignal(c, imgCfg); err != nil {
		return supervisor.Instance{}, createError(err)
	}
	inst.LogPath = r.logPath(pod, c.Name, req.Attempt)
	ahead, err := r.aheadLabels(ctx, req) // before anything is resolved (prepared.go)
	if err != nil {
		return supervisor.Instance{}, err
	}
	opts, labels, err := r.containerOpts(ctx, req, img, imgCfg, inst)
	if err != nil {
		r.discardInstance(ctx, id, labels)
		return supervisor.Instance{}, err
	}
	opts = append(opts, ahead...)
	// containerd goes on creating a container or task when the caller's
	// context is cancelled half-way (the pod was deleted while starting):
	// the client gets "context canceled" while the snapshot, container or
	// shim and process appear anyway, too late for any cleanup to see. So
	// the create runs on a context of its own and is undone afterwards if
	// ctx ended meanwhile: either an instance is returned or nothing is left.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	cont, err := r.client.NewContainer(cctx, id, opts...)
	if err != nil {
		r.discardInstance(cctx, id, labels)
		r.images.forget(img.Target().Digest.String()) // e.g. its snapshots were removed
		return supervisor.Instance{}, createError(fmt.Errorf("create container: %w", err))
	}
	task, err := cont.NewTask(cctx, r.logIO(inst.LogPath, c.TTY))
	if err != nil {
		if derr := r.removeFailedContainer(cctx, cont); derr != nil {
			log.Warn("remove container after failed task creation", zap.Error(derr))
		}
		// Under the kubelet the task is created by CRI StartContainer, so a
		// process that cannot start (no such executable) is RunContainerError.
		return supervisor.Instance{}, runError(fmt.Errorf("failed to create containerd task: %w", err))
	}
	if err := ctx.Err(); err != nil {
		if derr := r.removeFailedContainer(cctx, cont); derr != nil {
			log.Warn("remove container created after its pod's sync ended", zap.Error(derr))
		}
		removeTerminationLog(labels[labelTermLog])
		return supervisor.Instance{}, createError(fmt.Errorf("create container: %w", err))
	}
	r.rememberPod(id, labels[labelPodUID])
	r.keepCreated(id, task, labels[labelTermLog])
	log.Debug("created container instance", zap.String("id", id), zap.Int32("attempt", req.Attempt))
	return inst, nil
}

// removeFailedContainer removes a container whose task creation failed.
// The failure is often ctx itself (the pod was deleted while its container
// was being created), so the cleanup runs on a context of its own; and the
// shim may have created the task before the cancellation was seen, so a
// task is deleted (killed) first — else containerd refuses to delete the
// container and the container, its snapshot and a process are left behind.
func (r *Runtime) removeFailedContainer(ctx context.Context, cont containerd.Container) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failedCreateCleanupTimeout)
	defer cancel()
	if task, err := cont.Task(ctx, nil); err == nil {
		if _, err := deleteTask(ctx, task, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task of container %s: %w", cont.ID(), err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("look up task of container %s: %w", cont.ID(), err)
	}
	return r.deleteContainer(ctx, cont)
}

// discardInstance removes what a failed CreateContainer made before the
// container record existed: the snapshot (the lease would let GC take it,
// later) and the termination-log dir.
func (r *Runtime) discardInstance(ctx context.Context, id string, labels map[string]string) {
	if err := r.client.SnapshotService(r.snapshotter).Remove(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("remove snapshot of failed container", zap.String("id", id), zap.Error(err))
	}
	removeTerminationLog(labels[labelTermLog])
}

func createError(err error) error {
	var se *supervisor.StartError
	if errors.As(err, &se) {
		return err
	}
	return &supervisor.StartError{Reason: "CreateContainerError", Message: err.Error(), Err: err}
}

// runnableImage finds the image and makes sure it is unpacked in the
// snapshotter podrund uses; what its content says is read once per image
// digest (imageInfo).
func (r *Runtime) runnableImage(ctx context.Context, req supervisor.CreateRequest) (containerd.Image, ocispec.ImageConfig, error) {
	ref := req.ImageRef
	if ref == "" {
		ref = req.Container.Image
	}
	name, err := NormaliseRef(ref)
	if err != nil {
		return nil, ocispec.ImageConfig{}, &supervisor.StartError{Reason: "InvalidImageName", Message: err.Error()}
	}
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		return nil, ocispec.ImageConfig{}, createError(fmt.Errorf("image %s: %w", name, err))
	}
	info, err := r.imageInfo(ctx, img)
	if err != nil {
		return nil, ocispec.ImageConfig{}, createError(err)
	}
	if !info.unpacked {
		unpacked, err := img.IsUnpacked(ctx, r.snapshotter)
		if err == nil && !unpacked {
			err = img.Unpack(ctx, r.snapshotter)
		}
		if err != nil {
			return nil, ocispec.ImageConfig{}, createError(fmt.Errorf("unpack image %s: %w", name, err))
		}
		r.images.markUnpacked(img.Target().Digest.String())
	}
	return img, info.config, nil
}

// containerOpts resolves everything the container needs and composes the
// container options, spec options last so they see the new snapshot.
func (r *Runtime) containerOpts(ctx context.Context, req supervisor.CreateRequest, img containerd.Image,
	imgCfg ocispec.ImageConfig, inst supervisor.Instance) ([]containerd.NewContainerOpts, map[string]string, error) {
	pod, c := req.Pod, req.Container
	res := &envResolver{objects: r.opts.Objects, pod: pod, sandbox: req.Sandbox,
		cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	env, err := res.resolve(ctx, c)
	if err != nil {
		return nil, nil, createError(err)
	}
	args, err := processArgs(c, imgCfg, mappingOf(env))
	if err != nil {
		return nil, nil, createError(err)
	}
	termLog, err := r.prepareInstanceFiles(pod, c.Name, req.Attempt, inst.LogPath)
	if err != nil {
		return nil, nil, createError(err)
	}
	specOpts := []oci.SpecOpts{
		withHostnameEnv(pod),
		r.withImageConfig(img),
		withProcessArgs(args),
		withContainerEnv(env),
		withWorkingDir(c.WorkingDir),
		withTTY(c.TTY),
		withTerminationLog(termLog, c.TerminationMessagePath),
	}
	labels := instanceLabels(req, inst, termLog)
	more, err := r.podSpecOpts(ctx, pod, c, imgCfg)
	if err != nil {
		return nil, labels, err
	}
	specOpts = append(specOpts, more...)
	specOpts = append(specOpts, withAnnotations(labels, r.shimGroup(labels[labelPodUID])))
	return []containerd.NewContainerOpts{
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.snapshotter),
		r.withNewSnapshot(inst.ID, img),
		containerd.WithContainerLabels(labels),
		containerd.WithNewSpec(specOpts...),
	}, labels, nil
}

// podSpecOpts are the options other packages own: volume mounts, the pod's
// namespaces and /etc files, then security context and resources.
func (r *Runtime) podSpecOpts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, imgCfg ocispec.ImageConfig) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if r.opts.Volumes != nil {
		mounts, err := r.opts.Volumes.Mounts(ctx, pod, c)
		if err != nil {
			var se *supervisor.StartError
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, &supervisor.StartError{Reason: "CreateContainerConfigError", Message: err.Error(), Err: err}
		}
		opts = append(opts, withVolumeMounts(mounts))
	}
	if r.opts.Sandboxes != nil {
		sb, err := r.opts.Sandboxes.SpecOpts(pod)
		if err != nil {
			return nil, createError(fmt.Errorf("sandbox options: %w", err))
		}
		opts = append(opts, sb...)
	}
	if r.opts.Security != nil {
		sec, err := r.opts.Security(pod, c, imgCfg)
		var capErr *secopts.UnavailableCapabilitiesError
		if errors.As(err, &capErr) {
			// runc would refuse it at create: CreateContainerError, but
			// naming the capability.
			return nil, &supervisor.StartError{Reason: "CreateContainerError",
				Message: "security context: " + err.Error(), Err: err}
		}
		if err != nil {
			// The kubelet builds these in generateContainerConfig, so a
			// violated runAsNonRoot or a missing seccomp profile is a
			// CreateContainerConfigError there, not a CreateContainerError.
			return nil, &supervisor.StartError{Reason: "CreateContainerConfigError",
				Message: "security context: " + err.Error(), Err: err}
		}
		opts = append(opts, sec...)
	}
	return opts, nil
}

func instanceLabels(req supervisor.CreateRequest, inst supervisor.Instance, termLog string) map[string]string {
	pod, c := req.Pod, req.Container
	policy := string(c.TerminationMessagePolicy)
	if policy == "" {
		policy = string(corev1.TerminationMessageReadFile)
	}
	return map[string]string{
		labelPodUID:        string(pod.UID),
		labelPodNamespace:  pod.Namespace,
		labelPodName:       pod.Name,
		labelContainerName: c.Name,
		labelAttempt:       itoa(req.Attempt),
		labelSandbox:       itoa(req.Sandbox.Attempt),
		labelLogPath:       inst.LogPath,
		labelTermLog:       termLog,
		labelTermPolicy:    policy,
		labelStopSignal:    strconv.Itoa(int(inst.StopSignal)),
		labelTTY:           strconv.FormatBool(c.TTY),
	}
}

// specHash identifies the container definition for R29 (name + image).
func specHash(c *corev1.Container) string {
	h := fnv.New64a()
	h.Write([]byte(c.Name + "\x00" + c.Image))
	return strconv.FormatUint(h.Sum64(), 16)
}

// prepareInstanceFiles creates an empty termination-log file and clears a
// log left by an earlier try of the same attempt.
func (r *Runtime) prepareInstanceFiles(pod *corev1.Pod, container string, attempt int32, logPath string) (string, error) {
	dir := filepath.Join(r.podDir(pod), "containers", container, itoa(attempt))
	termLog := filepath.Join(dir, "termination-log")
	if err := createTerminationLog(r.opts.Root, dir, termLog); err != nil {
		return "", err
	}
	os.Remove(filepath.Join(dir, startedAtFile)) // of an earlier try, if any
	if err := os.MkdirAll(filepath.Dir(logPath), 0o750); err != nil {
		return "", fmt.Errorf("create log dir: %w", err)
	}
	crilog.Remove(logPath)
	return termLog, nil
}

// createTerminationLog creates (or empties) the termination-log file at
// termLog, in dir below root, without following a symlink in any component
// below root. It is made 0666, as the kubelet makes it, so a container
// running as any user can write its message through the bind mount; the
// directory holding it is podrund's, never the container's.
func createTerminationLog(root, dir, termLog string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("termination-log dir %s is not below %s", dir, root)
	}
	rootDir, err := safeopen.OpenDir(root)
	if err != nil {
		return fmt.Errorf("create termination-log dir: %w", err)
	}
	defer rootDir.Close()
	d, err := safeopen.MkdirAll(rootDir, rel, 0o750)
	if err != nil {
		return fmt.Errorf("create termination-log dir: %w", err)
	}
	defer d.Close()
	f, err := safeopen.CreateFile(d, filepath.Base(termLog), 0o666, true)
	if err != nil {
		return fmt.Errorf("create termination-log file: %w", err)
	}
	return f.Close()
}

// RemoveContainer removes an instance whether it never started, runs or
// has exited: the task is killed and deleted, then the container and its
// snapshot. Not found is success.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.nsCtx(ctx)
	cont, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	if task, err := cont.Task(ctx, nil); err == nil {
		if _, err := deleteTask(ctx, task, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task of %s: %w", id, err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("load task of %s: %w", id, err)
	}
	return r.deleteContainer(ctx, cont)
}

func (r *Runtime) deleteContainer(ctx context.Context, cont containerd.Container) error {
	labels, _ := cont.Labels(ctx)
	if err := cont.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", cont.ID(), err)
	}
	removeTerminationLog(labels[labelTermLog])
	r.drainLog(cont.ID())
	r.forgetPod(cont.ID())
	r.takeCreated(cont.ID())
	return nil
}

// removeTerminationLog deletes <pod dir>/containers/<container>/<attempt>
// and the parents it leaves empty, so the pod directory can go with the
// pod (sandbox and volumes remove their parts and then the empty dir).
// The pod directory itself is among those parents: an instance whose
// removal was cut short (containerd restarted under it) is removed
// again later, after the sandbox already tried to remove the pod dir
// and found containers/ still there.
func removeTerminationLog(path string) {
	if path == "" {
		return
	}
	attemptDir := filepath.Dir(path)
	os.RemoveAll(attemptDir)
	dir := filepath.Dir(attemptDir)
	for range 3 { // the container's dir, containers/, the pod's dir
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// parseSignal reads the stop-signal label; SIGTERM when absent.
func parseSignal(s string) syscall.Signal {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return syscall.SIGTERM
	}
	return syscall.Signal(n)
}
