// Package eviction enforces local storage limits the way the kubelet's
// eviction manager does (its localStorageEviction): a pod whose emptyDir
// outgrows its sizeLimit, whose ephemeral storage outgrows the sum of its
// containers' limits, or one of whose containers outgrows its own
// ephemeral-storage limit is evicted (supervisor.Manager.Evict, R71). On a
// device with one small disk this is what keeps one pod from filling it.
package eviction

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The kubelet's eviction messages, word for word: users and tools match them.
const (
	emptyDirMessageFmt         = "Usage of EmptyDir volume %q exceeds the limit %q. "
	podStorageMessageFmt       = "Pod ephemeral local storage usage exceeds the total limit of containers %s. "
	containerStorageMessageFmt = "Container %s exceeded its local ephemeral storage limit %q. "
)

// podUsage is what a pod's parts take on disk, in bytes: its disk-backed
// emptyDir volumes by name, its containers (writable layer and logs) by name.
type podUsage struct {
	volumes    map[string]int64
	containers map[string]int64
}

// limited tells whether the pod sets any local storage limit; pods that
// do not are never measured.
func limited(pod *corev1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if ed := pod.Spec.Volumes[i].EmptyDir; ed != nil && ed.SizeLimit != nil && ed.SizeLimit.Sign() > 0 {
			return true
		}
	}
	_, ok := podLimit(pod)
	return ok
}

// verdict is the eviction message for a pod over a limit, or "": the
// kubelet's checks in its order (emptyDirs, the pod, each container).
func verdict(pod *corev1.Pod, use podUsage) string {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Sign() <= 0 {
			continue
		}
		if used, ok := use.volumes[v.Name]; ok && used > v.EmptyDir.SizeLimit.Value() {
			return fmt.Sprintf(emptyDirMessageFmt, v.Name, v.EmptyDir.SizeLimit.String())
		}
	}
	if limit, ok := podLimit(pod); ok {
		var total int64
		for _, b := range use.volumes {
			total += b
		}
		for _, b := range use.containers {
			total += b
		}
		if total > limit.Value() {
			return fmt.Sprintf(podStorageMessageFmt, limit.String())
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		limit, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]
		if !ok || limit.IsZero() {
			continue
		}
		if used, ok := use.containers[c.Name]; ok && used > limit.Value() {
			return fmt.Sprintf(containerStorageMessageFmt, c.Name, limit.String())
		}
	}
	return ""
}

// podLimit is the pod's ephemeral-storage limit as the kubelet computes a
// pod's limits: the regular containers' and sidecars' summed, or a plain
// init container's if larger (it runs alone, besides the sidecars before
// it). ok is false when no container sets one.
func podLimit(pod *corev1.Pod) (resource.Quantity, bool) {
	var sum, sidecars resource.Quantity
	found := false
	limitOf := func(c *corev1.Container) (resource.Quantity, bool) {
		q, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]
		return q, ok
	}
	for i := range pod.Spec.Containers {
		if q, ok := limitOf(&pod.Spec.Containers[i]); ok {
			sum.Add(q)
			found = true
		}
	}
	largest := resource.Quantity{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		q, ok := limitOf(c)
		if !ok {
			continue
		}
		found = true
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.Add(q)
			continue
		}
		q.Add(sidecars)
		if q.Cmp(largest) > 0 {
			largest = q
		}
	}
	sum.Add(sidecars)
	if largest.Cmp(sum) > 0 {
		sum = largest
	}
	return sum, found
}
