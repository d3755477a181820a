package objects

import (
	"strconv"

	"github.com/podrun/podrun/daemon/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindInfo is what the generic object code needs to know of a stored kind
// beyond its Go type. A new kind adds one row to kinds.
type kindInfo struct {
	gvk      schema.GroupVersionKind
	resource schema.GroupResource
	new      func() runtime.Object
}

var kinds = map[string]kindInfo{
	store.BucketPods: {corev1.SchemeGroupVersion.WithKind("Pod"), corev1.Resource("pods"),
		func() runtime.Object { return &corev1.Pod{} }},
	store.BucketConfigMaps: {corev1.SchemeGroupVersion.WithKind("ConfigMap"), corev1.Resource("configmaps"),
		func() runtime.Object { return &corev1.ConfigMap{} }},
	store.BucketSecrets: {corev1.SchemeGroupVersion.WithKind("Secret"), corev1.Resource("secrets"),
		func() runtime.Object { return &corev1.Secret{} }},
	store.BucketEvents: {corev1.SchemeGroupVersion.WithKind("Event"), corev1.Resource("events"),
		func() runtime.Object { return &corev1.Event{} }},
	store.BucketJobs: {batchv1.SchemeGroupVersion.WithKind("Job"), batchv1.Resource("jobs"),
		func() runtime.Object { return &batchv1.Job{} }},
	store.BucketCronJobs: {batchv1.SchemeGroupVersion.WithKind("CronJob"), batchv1.Resource("cronjobs"),
		func() runtime.Object { return &batchv1.CronJob{} }},
}

func kindOf(bucket string) kindInfo {
	k, ok := kinds[bucket]
	if !ok {
		panic("objects: no kind for bucket " + bucket)
	}
	return k
}

// empty is a zero object of the kind with its apiVersion and kind set.
func (k kindInfo) empty() runtime.Object {
	o := k.new()
	o.GetObjectKind().SetGroupVersionKind(k.gvk)
	return o
}

// InitialEventsEnd is the annotation of the BOOKMARK that closes the
// initial events of a watch with sendInitialEvents=true (client-go's
// watch-list and kubectl wait/delete wait for it).
const InitialEventsEnd = metav1.InitialEventsAnnotationKey

// Bookmark is the watch event type that carries only a resourceVersion.
const Bookmark = "BOOKMARK"

// BookmarkObject is the object of a BOOKMARK event for bucket at rv: only its
// apiVersion, kind and resourceVersion (and, to end the initial events,
// the k8s.io/initial-events-end annotation), as the API server sends it.
func BookmarkObject(bucket string, rv uint64, initialEventsEnd bool) runtime.Object {
	o := kindOf(bucket).empty()
	m := o.(metav1.Object)
	m.SetResourceVersion(strconv.FormatUint(rv, 10))
	if initialEventsEnd {
		m.SetAnnotations(map[string]string{InitialEventsEnd: "true"})
	}
	return o
}
