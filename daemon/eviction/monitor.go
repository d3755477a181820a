package eviction

import (
	"context"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/podrun/podrun/supervisor"
)

// Engine is what the monitor needs of the pod engine.
type Engine interface {
	Evict(ctx context.Context, uid types.UID, message string) error
	Instance(uid types.UID, container string) (supervisor.Instance, bool)
}

// Options wire a Monitor.
type Options struct {
	// Pods lists the stored pods.
	Pods   func(ctx context.Context) ([]*corev1.Pod, error)
	Engine Engine
	// VolumeDir is the host directory of a pod volume (daemon/volumes).
	VolumeDir func(uid types.UID, name string) string
	// WritableLayer is the directory holding what an instance wrote to its
	// own file system; "" where the snapshotter keeps the image in the same
	// directory (native), whose use is then not counted.
	WritableLayer func(ctx context.Context, instanceID string) (string, error)
	// LogDir is the directory of a container's logs, all instances.
	LogDir   func(pod *corev1.Pod, container string) string
	Interval time.Duration
	Logger   *zap.Logger
}

// Monitor measures, every Interval, the pods that set a local storage
// limit, and evicts those over one.
type Monitor struct {
	o      Options
	layers map[string]string // instance ID → writable layer dir (fixed for its life)
}

// NewMonitor returns a monitor; Run starts it.
func NewMonitor(o Options) *Monitor {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return &Monitor{o: o, layers: map[string]string{}}
}

// Run checks every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	_ = wait.PollUntilContextCancel(ctx, m.o.Interval, false, func(ctx context.Context) (bool, error) {
		m.CheckOnce(ctx)
		return false, nil
	})
}

// CheckOnce measures every active pod with a limit and evicts those over.
func (m *Monitor) CheckOnce(ctx context.Context) {
	pods, err := m.o.Pods(ctx)
	if err != nil {
		m.o.Logger.Warn("local storage check: list pods", zap.Error(err))
		return
	}
	live := map[string]bool{}
	for _, pod := range pods {
		if !active(pod) || !limited(pod) {
			continue
		}
		use := m.measure(ctx, pod, live)
		msg := verdict(pod, use)
		if msg == "" {
			continue
		}
		log := m.o.Logger.With(zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("uid", string(pod.UID)))
		if err := m.o.Engine.Evict(ctx, pod.UID, msg); err != nil {
			log.Warn("evict pod over a local storage limit", zap.String("message", msg), zap.Error(err))
			continue
		}
		log.Warn("evicting pod over a local storage limit", zap.String("message", msg),
			zap.Any("volumeBytes", use.volumes), zap.Any("containerBytes", use.containers))
	}
	for id := range m.layers {
		if !live[id] {
			delete(m.layers, id)
		}
	}
}

// active: running or starting, not being deleted.
func active(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil &&
		(pod.Status.Phase == corev1.PodPending || pod.Status.Phase == corev1.PodRunning)
}

// measure walks the pod's disk-backed emptyDirs and, for each container
// with an instance, its writable layer and its logs. A part that cannot be
// read counts as empty (logged at debug): a missed eviction is retried at
// the next check, a wrong one cannot be undone.
//
// Only what a check can use is walked, and each walk stops once past the
// limit that judges it (an emptyDir's sizeLimit, else the pod's limit,
// which is at least each container's): the verdict is the one full counts
// give, and a walk costs about its limit, not what a runaway pod wrote.
func (m *Monitor) measure(ctx context.Context, pod *corev1.Pod, live map[string]bool) podUsage {
	use := podUsage{volumes: map[string]int64{}, containers: map[string]int64{}}
	log := m.o.Logger.With(zap.String("pod", pod.Namespace+"/"+pod.Name))
	podMax, podLimited := podLimit(pod)
	du := func(dir string, stop int64, part zap.Field) int64 {
		if dir == "" {
			return 0
		}
		b, err := DiskUsageUpTo(dir, stop)
		if err != nil {
			log.Debug("disk usage", part, zap.String("dir", dir), zap.Error(err))
		}
		return b
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.EmptyDir == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory {
			continue
		}
		stop := podMax.Value()
		if sl := v.EmptyDir.SizeLimit; sl != nil && sl.Sign() > 0 {
			stop = sl.Value()
		} else if !podLimited {
			continue // no check looks at it
		}
		use.volumes[v.Name] = du(m.o.VolumeDir(pod.UID, v.Name), stop, zap.String("volume", v.Name))
	}
	if !podLimited {
		return use // no container sets a limit
	}
	containers := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range containers {
		name := containers[i].Name
		in, ok := m.o.Engine.Instance(pod.UID, name)
		if !ok {
			continue
		}
		live[in.ID] = true
		part := zap.String("container", name)
		layer := du(m.layer(ctx, in.ID, log), podMax.Value(), part)
		use.containers[name] = layer + du(m.o.LogDir(pod, name), podMax.Value(), part)
	}
	return use
}

// layer finds (once per instance) the instance's writable layer.
func (m *Monitor) layer(ctx context.Context, id string, log *zap.Logger) string {
	if dir, ok := m.layers[id]; ok {
		return dir
	}
	dir, err := m.o.WritableLayer(ctx, id)
	if err != nil {
		log.Debug("writable layer of instance", zap.String("id", id), zap.Error(err))
		return ""
	}
	if dir != "" {
		dir = filepath.Clean(dir)
	}
	m.layers[id] = dir
	return dir
}
