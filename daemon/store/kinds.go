package store

import (
	"context"

	"github.com/podrun/podrun/supervisor"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	podTypeMeta       = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	configMapTypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
	secretTypeMeta    = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	eventTypeMeta     = metav1.TypeMeta{APIVersion: "v1", Kind: "Event"}
	jobTypeMeta       = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}
)

func core(resource string) schema.GroupResource { return schema.GroupResource{Resource: resource} }

// Pods holds the pod records (API object + engine state), keyed by name:
// the pod that runs under that name now, possibly terminating.
func (s *Store) Pods() *Collection[*supervisor.PodRecord] {
	return &Collection[*supervisor.PodRecord]{
		s: s, bucket: BucketPods, resource: core("pods"),
		newT: func() *supervisor.PodRecord { return &supervisor.PodRecord{} },
		meta: func(r *supervisor.PodRecord) *metav1.ObjectMeta {
			if r.Pod == nil {
				r.Pod = &corev1.Pod{}
			}
			return &r.Pod.ObjectMeta
		},
		public: func(r *supervisor.PodRecord) runtime.Object {
			p := r.Pod.DeepCopy()
			p.TypeMeta = podTypeMeta
			return p
		},
	}
}

// PendingPods holds replacements: a pod whose spec changed waits here (with
// its new UID) until the pod it replaces has stopped (docs/contract.md §3 apply).
// Watchers do not see it until it is promoted.
func (s *Store) PendingPods() *Collection[*corev1.Pod] {
	return &Collection[*corev1.Pod]{
		s: s, bucket: BucketPodsPending, resource: core("pods"),
		newT: func() *corev1.Pod { return &corev1.Pod{} },
		meta: func(p *corev1.Pod) *metav1.ObjectMeta { return &p.ObjectMeta },
	}
}

// storedKind is a pointer to an API object that the store keeps as is.
type storedKind[T any] interface {
	*T
	runtime.Object
}

// objects is the collection of a kind kept as is; watchers see copies with
// typeMeta set (the stored JSON may lack it).
func objects[T any, P storedKind[T]](s *Store, bucket string, resource schema.GroupResource,
	typeMeta metav1.TypeMeta, meta func(P) *metav1.ObjectMeta) *Collection[P] {
	return &Collection[P]{
		s: s, bucket: bucket, resource: resource,
		newT: func() P { return P(new(T)) },
		meta: meta,
		public: func(o P) runtime.Object {
			c := o.DeepCopyObject()
			c.GetObjectKind().SetGroupVersionKind(typeMeta.GroupVersionKind())
			return c
		},
	}
}

// ConfigMaps is the configmaps collection.
func (s *Store) ConfigMaps() *Collection[*corev1.ConfigMap] {
	return objects(s, BucketConfigMaps, core("configmaps"), configMapTypeMeta,
		func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta })
}

// Secrets is the secrets collection.
func (s *Store) Secrets() *Collection[*corev1.Secret] {
	return objects(s, BucketSecrets, core("secrets"), secretTypeMeta,
		func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta })
}

// Jobs is the batch/v1 jobs collection.
func (s *Store) Jobs() *Collection[*batchv1.Job] {
	return objects(s, BucketJobs, schema.GroupResource{Group: "batch", Resource: "jobs"}, jobTypeMeta,
		func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta })
}

// Events is the events collection.
func (s *Store) Events() *Collection[*corev1.Event] {
	return objects(s, BucketEvents, core("events"), eventTypeMeta,
		func(o *corev1.Event) *metav1.ObjectMeta { return &o.ObjectMeta })
}

// ConfigMap implements volumes.ObjectSource; a missing one is an
// apierrors NotFound.
func (s *Store) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return s.ConfigMaps().Get(ctx, namespace, name)
}

// Secret implements volumes.ObjectSource.
func (s *Store) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return s.Secrets().Get(ctx, namespace, name)
}
