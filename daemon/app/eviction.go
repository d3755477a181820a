package app

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/crilog"
	"github.com/podrun/podrun/daemon/eviction"
)

// localStorageMonitor wires the eviction of pods over a local storage
// limit (daemon/eviction) to the store, the engine, the volumes and the
// runtime.
func (d *daemon) localStorageMonitor() *eviction.Monitor {
	root := d.cfg.Root
	return eviction.NewMonitor(eviction.Options{
		Pods:          d.listPods,
		Engine:        d.mgr,
		VolumeDir:     d.vols.VolumeDir,
		WritableLayer: d.rt.WritableLayer,
		LogDir: func(pod *corev1.Pod, container string) string {
			p := crilog.Pod{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
			return crilog.ContainerDir(root, p, container)
		},
		Interval: d.cfg.LocalStorageCheckInterval.Duration,
		Logger:   d.log.Named("eviction"),
	})
}
