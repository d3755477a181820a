package printer

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podrun/podrun/api"
)

// ResourceName and withTypeMeta name every served type as kubectl does.
func TestResourceNameAndTypeMeta(t *testing.T) {
	om := metav1.ObjectMeta{Name: "x"}
	for _, tc := range []struct {
		obj              any
		want             string
		apiVersion, kind string
	}{
		{&corev1.Pod{ObjectMeta: om}, "pod/x", "v1", "Pod"},
		{&batchv1.Job{ObjectMeta: om}, "job.batch/x", "batch/v1", "Job"},
		{&batchv1.CronJob{ObjectMeta: om}, "cronjob.batch/x", "batch/v1", "CronJob"},
		{&corev1.ConfigMap{ObjectMeta: om}, "configmap/x", "v1", "ConfigMap"},
		{&corev1.Secret{ObjectMeta: om}, "secret/x", "v1", "Secret"},
		{&corev1.Event{ObjectMeta: om}, "event/x", "v1", "Event"},
		{&api.Image{Name: "busybox:1"}, "image/busybox:1", "", ""},
		{&corev1.Node{ObjectMeta: om}, "*v1.Node", "", ""},
		{corev1.Pod{ObjectMeta: om}, "v1.Pod", "", ""},
	} {
		if got := ResourceName(tc.obj); got != tc.want {
			t.Errorf("ResourceName(%T) = %q, want %q", tc.obj, got, tc.want)
		}
		if o, ok := withTypeMeta(tc.obj).(runtime.Object); ok {
			if av, k := o.GetObjectKind().GroupVersionKind().ToAPIVersionAndKind(); av != tc.apiVersion || k != tc.kind {
				t.Errorf("withTypeMeta(%T) = %s %s, want %s %s", tc.obj, av, k, tc.apiVersion, tc.kind)
			}
		}
	}
}
