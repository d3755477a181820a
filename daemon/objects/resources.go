package objects

import (
	"context"
	"fmt"
	"mime"

	"github.com/podrun/podrun/api"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// The kinds stored as is, with their rules. A new kind is one more
// constructor here (and a row in kinds).

// ConfigMapResource is the configmaps: a write re-syncs the pods that use one.
func (b *Objects) ConfigMapResource() *Resource[*corev1.ConfigMap] {
	return volumeSource(b, "ConfigMap", BucketConfigMaps, b.st.ConfigMaps(),
		func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta },
		func(o *corev1.ConfigMap) error {
			api.DefaultConfigMap(o)
			return api.Validate(o)
		},
		func(next, cur *corev1.ConfigMap) error { return api.ValidateUpdate(next, cur) })
}

// SecretResource is the secrets: a write re-syncs the pods that use one.
func (b *Objects) SecretResource() *Resource[*corev1.Secret] {
	return volumeSource(b, "Secret", BucketSecrets, b.st.Secrets(),
		func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta },
		func(o *corev1.Secret) error {
			api.DefaultSecret(o)
			return api.Validate(o)
		},
		func(next, cur *corev1.Secret) error { return api.ValidateUpdate(next, cur) })
}

// volumeSource is a kind pods read through volumes and env (SourceChanged).
func volumeSource[T runtime.Object](b *Objects, kind, bucket string, coll Collection[T],
	meta func(T) *metav1.ObjectMeta, prepare func(T) error, merge func(next, cur T) error) *Resource[T] {
	return &Resource[T]{b: b, kind: kind, bucket: bucket, coll: coll, meta: meta, prepare: prepare, merge: merge,
		applied: func(ctx context.Context, o T) { b.SourceChanged(ctx, meta(o).Namespace, kind, meta(o).Name) }}
}

// EventResource is the events.
func (b *Objects) EventResource() *Resource[*corev1.Event] {
	return &Resource[*corev1.Event]{b: b, kind: "Event", bucket: BucketEvents, coll: b.st.Events(),
		meta:    func(o *corev1.Event) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: b.PrepareEvent,
	}
}

// JobResource is the Jobs: writes go to the Job controller; a DELETE's
// propagationPolicy decides what happens to their pods.
func (b *Objects) JobResource() *Resource[*batchv1.Job] {
	return &Resource[*batchv1.Job]{b: b, kind: "Job", bucket: BucketJobs, coll: b.st.Jobs(),
		meta:    func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: b.PrepareJob,
		merge:   MergeJobUpdate,
		onDelete: func(opts *metav1.DeleteOptions, j *batchv1.Job) {
			JobPropagation(j, propagation(opts))
		},
		deferDelete: func(ctx context.Context, opts *metav1.DeleteOptions, ns, name string) (*batchv1.Job, bool, error) {
			return b.ForegroundDeleteJob(ctx, propagation(opts), ns, name)
		},
		applied: b.JobApplied,
		deleted: b.JobDeleted,
	}
}

// CronJobResource is the CronJobs: the whole delete is the object
// layer's, which records the propagation on the deleted CronJob for the
// CronJob controller (R115).
func (b *Objects) CronJobResource() *Resource[*batchv1.CronJob] {
	return &Resource[*batchv1.CronJob]{b: b, kind: "CronJob", bucket: BucketCronJobs, coll: b.st.CronJobs(),
		meta:    func(o *batchv1.CronJob) *metav1.ObjectMeta { return &o.ObjectMeta },
		prepare: b.PrepareCronJob,
		merge:   MergeCronJobUpdate,
		deferDelete: func(ctx context.Context, opts *metav1.DeleteOptions, ns, name string) (*batchv1.CronJob, bool, error) {
			cj, err := b.DeleteCronJob(ctx, propagation(opts), ns, name)
			return cj, err == nil, err
		},
	}
}

func propagation(opts *metav1.DeleteOptions) string {
	if opts.PropagationPolicy == nil {
		return ""
	}
	return string(*opts.PropagationPolicy)
}

// PatchType is the patch type a PATCH's Content-Type names; any other is
// the API server's 415.
func PatchType(contentType string) (types.PatchType, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		switch pt := types.PatchType(mediaType); pt {
		case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
			return pt, nil
		}
	}
	return "", api.NewUnsupportedMediaType(fmt.Sprintf(
		"the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s",
		types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType))
}
