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
// its new UID) until the pod it replaces has stopped (design §3 apply).
// Watchers do not see it until it is promoted.
func (s *Store) PendingPods() *Collection[*corev1.Pod] {
	return &Collection[*corev1.Pod]{
		s: s, bucket: BucketPodsPending, resource: core("pods"),
		newT: func() *corev1.Pod { return &corev1.Pod{} },
		meta: func(p *corev1.Pod) *metav1.ObjectMeta { return &p.ObjectMeta },
	}
}

// ConfigMaps is the configmaps collection.
func (s *Store) ConfigMaps() *Collection[*corev1.ConfigMap] {
	return &Collection[*corev1.ConfigMap]{
		s: s, bucket: BucketConfigMaps, resource: core("configmaps"),
		newT: func() *corev1.ConfigMap { return &corev1.ConfigMap{} },
		meta: func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta },
		public: func(o *corev1.ConfigMap) runtime.Object {
			c := o.DeepCopy()
			c.TypeMeta = configMapTypeMeta
			return c
		},
	}
}

// Secrets is the secrets collection.
func (s *Store) Secrets() *Collection[*corev1.Secret] {
	return &Collection[*corev1.Secret]{
		s: s, bucket: BucketSecrets, resource: core("secrets"),
		newT: func() *corev1.Secret { return &corev1.Secret{} },
		meta: func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta },
		public: func(o *corev1.Secret) runtime.Object {
			c := o.DeepCopy()
			c.TypeMeta = secretTypeMeta
			return c
		},
	}
}

// Jobs is the batch/v1 jobs collection.
func (s *Store) Jobs() *Collection[*batchv1.Job] {
	return &Collection[*batchv1.Job]{
		s: s, bucket: BucketJobs, resource: schema.GroupResource{Group: "batch", Resource: "jobs"},
		newT: func() *batchv1.Job { return &batchv1.Job{} },
		meta: func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta },
		public: func(o *batchv1.Job) runtime.Object {
			c := o.DeepCopy()
			c.TypeMeta = jobTypeMeta
			return c
		},
	}
}

// Events is the events collection.
func (s *Store) Events() *Collection[*corev1.Event] {
	return &Collection[*corev1.Event]{
		s: s, bucket: BucketEvents, resource: core("events"),
		newT: func() *corev1.Event { return &corev1.Event{} },
		meta: func(o *corev1.Event) *metav1.ObjectMeta { return &o.ObjectMeta },
		public: func(o *corev1.Event) runtime.Object {
			c := o.DeepCopy()
			c.TypeMeta = eventTypeMeta
			return c
		},
	}
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
