package store

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// BucketCronJobs holds the batch/v1 CronJobs. It is created when the
// store opens; a store written before it existed reads as having none,
// so it needs no schema version of its own.
const BucketCronJobs = "cronjobs"

var cronJobTypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}

// CronJobs is the batch/v1 cronjobs collection.
func (s *Store) CronJobs() *Collection[*batchv1.CronJob] {
	return objects(s, BucketCronJobs, schema.GroupResource{Group: "batch", Resource: "cronjobs"}, cronJobTypeMeta,
		func(o *batchv1.CronJob) *metav1.ObjectMeta { return &o.ObjectMeta })
}
