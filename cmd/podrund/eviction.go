package main

import (
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/podrun/podrun/daemon/eviction"
	"github.com/podrun/podrun/daemon/runtime"
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
			return filepath.Join(runtime.PodLogDir(root, pod), container)
		},
		Interval: d.cfg.LocalStorageCheckInterval.Duration,
		Logger:   d.log.Named("eviction"),
	})
}
