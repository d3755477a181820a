package objects

import (
	"context"

	"github.com/podrun/podrun/supervisor"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

// SourceChanged runs after a ConfigMap or Secret was created or changed:
// pods that mount it get their volume files rewritten (as the kubelet's
// periodic sync does), and pods waiting with CreateContainerConfigError
// (R87: a missing ConfigMap/Secret key) are re-synced so they start now
// rather than at their next back-off.
func (b *Objects) SourceChanged(ctx context.Context, namespace, kind, name string) {
	recs, _, err := b.st.Pods().List(ctx, namespace)
	if err != nil {
		b.log.Error("list pods after a source changed", zap.String("kind", kind), zap.String("name", name), zap.Error(err))
		return
	}
	e := b.Engine()
	for _, rec := range recs {
		pod := rec.Pod
		if pod.DeletionTimestamp != nil || !podUses(pod, kind, name) {
			continue
		}
		log := b.log.With(zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String(kind, name))
		if b.o.Volumes != nil {
			if err := b.o.Volumes.Refresh(ctx, pod.DeepCopy()); err != nil {
				log.Warn("refresh pod volumes", zap.Error(err))
			}
		}
		if e == nil {
			continue
		}
		cur, ok := e.Get(pod.UID)
		if !ok || !waitingOnConfig(cur) {
			continue
		}
		// The engine treats an unchanged pod as a resync request.
		log.Info("re-syncing pod waiting on its configuration")
		if err := e.UpdatePod(context.WithoutCancel(ctx), pod.DeepCopy()); err != nil {
			log.Warn("re-sync pod", zap.Error(err))
		}
	}
}

func waitingOnConfig(rec *supervisor.PodRecord) bool {
	for _, w := range rec.Engine.Waiting {
		if w.Reason == reasonConfigError {
			return true
		}
	}
	all := append(append([]corev1.ContainerStatus{}, rec.Pod.Status.InitContainerStatuses...), rec.Pod.Status.ContainerStatuses...)
	for _, cs := range all {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason == reasonConfigError {
			return true
		}
	}
	return false
}

const reasonConfigError = "CreateContainerConfigError"

// podUses reports whether a pod refers to ConfigMap/Secret name through a
// volume, a projected volume source, env valueFrom or envFrom.
func podUses(pod *corev1.Pod, kind, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if volumeUses(&v.VolumeSource, kind, name) {
			return true
		}
	}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range all {
		if containerUses(&all[i], kind, name) {
			return true
		}
	}
	return false
}

func volumeUses(v *corev1.VolumeSource, kind, name string) bool {
	switch {
	case kind == "ConfigMap" && v.ConfigMap != nil:
		return v.ConfigMap.Name == name
	case kind == "Secret" && v.Secret != nil:
		return v.Secret.SecretName == name
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			if kind == "ConfigMap" && src.ConfigMap != nil && src.ConfigMap.Name == name ||
				kind == "Secret" && src.Secret != nil && src.Secret.Name == name {
				return true
			}
		}
	}
	return false
}

func containerUses(c *corev1.Container, kind, name string) bool {
	for _, ef := range c.EnvFrom {
		if kind == "ConfigMap" && ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == name ||
			kind == "Secret" && ef.SecretRef != nil && ef.SecretRef.Name == name {
			return true
		}
	}
	for _, ev := range c.Env {
		vf := ev.ValueFrom
		if vf == nil {
			continue
		}
		if kind == "ConfigMap" && vf.ConfigMapKeyRef != nil && vf.ConfigMapKeyRef.Name == name ||
			kind == "Secret" && vf.SecretKeyRef != nil && vf.SecretKeyRef.Name == name {
			return true
		}
	}
	return false
}
