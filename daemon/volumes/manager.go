// Package volumes prepares a pod's volumes on the host and turns a
// container's volumeMounts into OCI bind mounts: emptyDir (disk or tmpfs),
// hostPath with its type checks, and configMap, secret, downwardAPI and
// projected volumes written with the kubelet's atomic ..data scheme so that
// re-applied objects show up in running containers. Volumes live in
// <root>/pods/<uid>/volumes/<name>: they survive container restarts and go
// away with the pod (Cleanup).
package volumes

import (
	"context"
	"errors"
	"fmt"
	"github.com/podrun/podrun/api"
	"os"
	"path/filepath"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Manager prepares and removes pod volumes.
type Manager struct {
	root    string
	objects ObjectSource
	log     *zap.Logger
	node    Allocatable
	// hostPathPrefixes confine hostPath volumes (WithHostPathPrefixes).
	hostPathPrefixes []HostPathPrefix

	mu sync.Mutex
	// pods are the pods whose API-data volumes Run keeps up to date.
	pods map[types.UID]*corev1.Pod
}

// NewManager returns a Manager keeping volumes under <root>/pods.
func NewManager(root string, objects ObjectSource, log *zap.Logger, opts ...Option) *Manager {
	if log == nil {
		log = zap.NewNop()
	}
	m := &Manager{root: root, objects: objects, log: log, node: NodeAllocatable(), pods: map[types.UID]*corev1.Pod{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

func (m *Manager) volumesDir(uid types.UID) string {
	return filepath.Join(m.root, "pods", string(uid), "volumes")
}

// setUpMarker is the file recording that a volume was set up (mode and
// fsGroup applied). Volume names are DNS labels, so ".setup" never is one.
func (m *Manager) setUpMarker(uid types.UID, name string) string {
	return filepath.Join(m.volumesDir(uid), ".setup", name)
}

// VolumeDir is the host directory of a pod volume (emptyDir, configMap,
// secret, downwardAPI, projected).
func (m *Manager) VolumeDir(uid types.UID, name string) string {
	return filepath.Join(m.volumesDir(uid), name)
}

func podVolume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

func fsGroupOf(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// Mounts prepares the volumes container c mounts and returns its bind
// mounts. An error (a missing ConfigMap, a failed hostPath check) is meant
// to become the container's CreateContainerConfigError; its message names
// the object. The pod is remembered for Run until Cleanup.
//
// A mount with a subPath, or of a hostPath confined to a policy prefix, is
// opened without following symlinks and bound by file descriptor onto a
// staging path under the pod's volume-subpaths directory; the returned
// mount's source is that staging path.
func (m *Manager) Mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]specs.Mount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pods[pod.UID] = pod.DeepCopy() // Run reads it while the caller may change pod
	var env map[string]string
	var mounts []specs.Mount
	for i, vm := range c.VolumeMounts {
		v := podVolume(pod, vm.Name)
		if v == nil {
			return nil, fmt.Errorf("volumeMount %q: no volume of that name in the pod", vm.Name)
		}
		src, writable, err := m.setup(ctx, pod, v)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			if env == nil {
				if env, err = m.containerEnv(ctx, pod, c); err != nil {
					return nil, fmt.Errorf("volume %q subPathExpr: %w", v.Name, err)
				}
			}
			sub = api.Expand(vm.SubPathExpr, api.MapLookup(env))
		}
		if sub != "" || m.confined(v) {
			var readOnly bool
			if src, readOnly, err = m.stage(pod.UID, c.Name, i, v, src, sub, writable); err != nil {
				return nil, fmt.Errorf("volume %q: %w", v.Name, err)
			}
			writable = writable && !readOnly
		}
		prop, err := propagation(vm.MountPropagation)
		if err != nil {
			return nil, fmt.Errorf("volumeMount %q: %w", vm.Name, err)
		}
		rw := "rw"
		if vm.ReadOnly || !writable {
			rw = "ro"
		}
		mounts = append(mounts, specs.Mount{
			Destination: vm.MountPath, Type: "bind", Source: src,
			Options: []string{"rbind", prop, rw},
		})
	}
	return mounts, nil
}

// setup prepares one volume and returns its host path and whether
// containers may write to it (API-data volumes are always read-only).
func (m *Manager) setup(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (string, bool, error) {
	dir := m.VolumeDir(pod.UID, v.Name)
	// The volumes' parent is closed to other local users: an emptyDir is
	// 0777 for non-root containers and may hold what a container made
	// setuid-root.
	if err := os.MkdirAll(m.volumesDir(pod.UID), 0o750); err != nil {
		return "", false, fmt.Errorf("create volumes directory: %w", err)
	}
	switch {
	case v.EmptyDir != nil:
		return dir, true, setupEmptyDir(dir, m.setUpMarker(pod.UID, v.Name), v.EmptyDir, pod.Spec.SecurityContext)
	case v.HostPath != nil:
		if m.confined(v) {
			return v.HostPath.Path, true, nil // checked fd-relative by stage
		}
		return v.HostPath.Path, true, checkHostPath(v.HostPath)
	}
	payload, ok, err := m.payloadOf(ctx, pod, v)
	if !ok {
		return "", false, errors.New("volume type not supported by podrun (emptyDir, hostPath, configMap, secret, downwardAPI, projected are)")
	}
	if err != nil {
		return "", false, err
	}
	if v.Secret != nil || v.Projected != nil {
		// Secrets never touch the disk: their volumes are tmpfs, as the kubelet's.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", false, fmt.Errorf("create volume directory: %w", err)
		}
		if err := ensureTmpfs(dir, "mode=0755"); err != nil {
			return "", false, err
		}
	}
	return dir, false, m.project(pod, dir, payload)
}

// project writes an API-data volume's payload, applying fsGroup to each
// new payload directory before it becomes visible. That directory is
// podrund's fresh one, and containers mount the volume read-only, so the
// walk sees only files podrund just wrote.
func (m *Manager) project(pod *corev1.Pod, dir string, payload map[string]file) error {
	var own func(string) error
	if g := fsGroupOf(pod); g != nil {
		own = func(ts string) error { return applyFSGroup(ts, *g, true, nil) }
	}
	changed, err := writePayload(dir, payload, own)
	if err != nil {
		return err
	}
	if g := fsGroupOf(pod); g != nil && changed {
		if err := os.Lchown(dir, -1, int(*g)); err != nil {
			return fmt.Errorf("set fsGroup of volume: %w", err)
		}
	}
	return nil
}

// Refresh re-projects the pod's configMap, secret, downwardAPI and projected
// volumes that are set up, so a re-applied object (or changed labels) shows
// in running containers, as the kubelet's periodic sync does. Files mounted
// with subPath do not change (as under the kubelet).
func (m *Manager) Refresh(ctx context.Context, pod *corev1.Pod) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pods[pod.UID] = pod.DeepCopy() // Run reads it while the caller may change pod
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir := m.VolumeDir(pod.UID, v.Name)
		if _, err := os.Lstat(filepath.Join(dir, dataDirName)); err != nil {
			continue // not set up (yet): the next Mounts projects it
		}
		payload, ok, err := m.payloadOf(ctx, pod, v)
		if !ok {
			continue
		}
		if err == nil {
			err = m.project(pod, dir, payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("refresh volume %q: %w", v.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run refreshes every pod known from Mounts or Refresh each interval until
// ctx ends; a removed object keeps the last projected files, as under the kubelet.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	_ = wait.PollUntilContextCancel(ctx, interval, false, func(ctx context.Context) (bool, error) {
		m.refreshAll(ctx)
		return false, nil
	})
}

// refreshAll refreshes a snapshot of the known pods, so that Refresh runs
// without m.mu held.
func (m *Manager) refreshAll(ctx context.Context) {
	m.mu.Lock()
	pods := make([]*corev1.Pod, 0, len(m.pods))
	for _, p := range m.pods {
		pods = append(pods, p)
	}
	m.mu.Unlock()
	for _, p := range pods {
		if err := m.Refresh(ctx, p); err != nil {
			m.log.Debug("refresh volumes", zap.String("pod", p.Namespace+"/"+p.Name), zap.Error(err))
		}
	}
}

// Cleanup unmounts (tmpfs emptyDirs) and deletes all of the pod's volumes.
// hostPath volumes are never touched. Idempotent.
func (m *Manager) Cleanup(ctx context.Context, pod *corev1.Pod) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pods, pod.UID)
	// The staging binds go first: some are of directories in the volumes.
	if err := m.unstage(pod.UID); err != nil {
		return fmt.Errorf("clean up subPath mounts of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	dir := m.volumesDir(pod.UID)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("clean up volumes of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volumes of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	_ = os.Remove(filepath.Dir(dir)) // the pod directory, once its other owners emptied it
	return nil
}
