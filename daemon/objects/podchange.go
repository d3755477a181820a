package objects

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podChange is what a PUT of a pod means (docs/contract.md §3 apply).
type podChange int

const (
	// changeNone: same spec, labels, annotations and managed fields:
	// nothing is written
	// and the resourceVersion stays (apply prints "unchanged").
	changeNone podChange = iota
	// changeMeta: only labels or annotations differ: stored, nothing restarts.
	changeMeta
	// changeInPlace: only container images (with their pull policy) or
	// activeDeadlineSeconds differ: Manager.UpdatePod (docs/semantics.md §R).
	changeInPlace
	// changeReplace: any other spec change: the old pod stops gracefully
	// and a new one (new UID) starts once it is gone, as a static pod does.
	changeReplace
)

// classifyPodChange compares the stored pod with the defaulted new one.
func classifyPodChange(old, next *corev1.Pod) podChange {
	metaSame := maps.Equal(old.Labels, next.Labels) && maps.Equal(old.Annotations, next.Annotations) &&
		sameOwners(old.ManagedFields, next.ManagedFields)
	if apiequality.Semantic.DeepEqual(old.Spec, next.Spec) {
		if metaSame {
			return changeNone
		}
		return changeMeta
	}
	if inPlaceOnly(&old.Spec, &next.Spec) {
		return changeInPlace
	}
	return changeReplace
}

// inPlaceOnly reports whether next equals old once the fields that may
// change in place are taken from next: container images (and the pull
// policy defaulted from the tag, which follows the image) and
// activeDeadlineSeconds.
func inPlaceOnly(old, next *corev1.PodSpec) bool {
	if len(old.InitContainers) != len(next.InitContainers) || len(old.Containers) != len(next.Containers) {
		return false
	}
	merged := old.DeepCopy()
	merged.ActiveDeadlineSeconds = next.ActiveDeadlineSeconds
	take := func(dst, src []corev1.Container) {
		for i := range dst {
			if dst[i].Name == src[i].Name && dst[i].Image != src[i].Image {
				dst[i].Image = src[i].Image
				dst[i].ImagePullPolicy = src[i].ImagePullPolicy
			}
		}
	}
	take(merged.InitContainers, next.InitContainers)
	take(merged.Containers, next.Containers)
	return apiequality.Semantic.DeepEqual(*merged, *next)
}

// sameOwners reports whether two managedFields lists record the same
// managers owning the same fields; their timestamps do not matter, so a
// repeated apply stays unchanged.
func sameOwners(a, b []metav1.ManagedFieldsEntry) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.ManagedFieldsEntry) bool {
		x.Time, y.Time = nil, nil
		return apiequality.Semantic.DeepEqual(x, y)
	})
}
